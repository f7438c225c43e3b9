# bs-encrypt: one command per job. `make install` first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED_CIFAR := ../shared/data/cifar10
# the offline copy where present, else torchvision downloads into ~/.cache/bs-encrypt/cifar10
CIFAR_DIR ?= $(if $(wildcard $(SHARED_CIFAR)/README.md),$(SHARED_CIFAR),$(HOME)/.cache/bs-encrypt/cifar10)
DATA   ?= data
RUNS   ?= runs

.PHONY: install test lint demo encrypt train bench reproduce reproduce-short reproduce-smoke audit clean

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'

test:
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check .

encrypt:
	mkdir -p $(DATA)
	$(BIN)/bs-encrypt dataset --source cifar10 --data-dir $(CIFAR_DIR) --download \
		--n-keys 4 --seed 0 --out $(DATA)/cifar10_enc.h5 --overwrite

clean:
	rm -rf $(DATA)/demo.h5 $(RUNS)/demo

# the paper's four conditions on CIFAR-10 (Fig. 3): paper schedule, a short GPU schedule, a CPU smoke run
reproduce:
	$(BIN)/bs-reproduce --data-dir $(CIFAR_DIR) --download --out $(RUNS)/reproduce

reproduce-short:
	$(BIN)/bs-reproduce --data-dir $(CIFAR_DIR) --download --epochs 20 --recipe onecycle \
		--out $(RUNS)/reproduce-short --overwrite

reproduce-smoke:
	$(BIN)/bs-reproduce --smoke --data-dir $(CIFAR_DIR) --download --out $(RUNS)/reproduce-smoke \
		--overwrite
