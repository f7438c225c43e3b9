# bs-encrypt: one command per job. `make install` first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED_CIFAR := ../shared/data/cifar10
# the offline copy where present, else torchvision downloads into ~/.cache/bs-encrypt/cifar10
CIFAR_DIR ?= $(if $(wildcard $(SHARED_CIFAR)/README.md),$(SHARED_CIFAR),$(HOME)/.cache/bs-encrypt/cifar10)
DATA   ?= data
RUNS   ?= runs

.PHONY: install test lint demo encrypt train bench reproduce reproduce-short reproduce-smoke audit clean \
	frontier gpu-check

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'

test:
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check .

# the quick demo: encrypt the built-in synthetic set (5,000 + 1,000 images, N = 4) and train a
# narrow ResNet-18 on it on the CPU; prints the accuracy on the encrypted test images
demo:
	mkdir -p $(DATA)
	test -f $(DATA)/demo.key || $(BIN)/bs-encrypt keygen --out $(DATA)/demo.key
	$(BIN)/bs-encrypt dataset --source synthetic --key $(DATA)/demo.key --n-keys 4 --seed 0 \
		--out $(DATA)/demo.h5 --overwrite
	$(BIN)/bs-train $(DATA)/demo.h5 --out $(RUNS)/demo --model resnet18-narrow --epochs 5 \
		--device cpu --overwrite

encrypt:
	mkdir -p $(DATA)
	$(BIN)/bs-encrypt dataset --source cifar10 --data-dir $(CIFAR_DIR) --download \
		--n-keys 4 --seed 0 --out $(DATA)/cifar10_enc.h5 --overwrite

# ResNet-18 on what `make encrypt` wrote (add TRAIN_ARGS="--resume" to continue a run)
train:
	$(BIN)/bs-train $(DATA)/cifar10_enc.h5 --out $(RUNS)/cifar10 $(TRAIN_ARGS)

# attack 1,000 encrypted test images of `make encrypt`'s file (needs the key it used)
audit:
	$(BIN)/bs-encrypt audit $(DATA)/cifar10_enc.h5 --samples 1000 --out $(RUNS)/audit --overwrite

bench:
	$(BIN)/python bench/bench_encrypt.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_audit.py

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

# the privacy-accuracy frontier (block sizes 4, 8, 16; leakage and accuracy) at the CPU budget
frontier:
	$(BIN)/python bench/bench_frontier.py --budget cpu --out $(RUNS)/frontier --overwrite

# everything that needs a GPU (about 8 minutes on one H100): DATA=DIR holds CIFAR-10 as npz files
# or sheets; works without the project's venv on a machine whose python3 has torch and h5py
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
gpu-check:
	PYTHONPATH=. $(GPU_PYTHON) bench/gpu_check.py $(DATA) --out $(RUNS)/gpu-check --overwrite
