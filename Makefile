# bs-encrypt: one command per job. `make install` first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED_CIFAR := ../shared/data/cifar10
# the offline copy where present, else torchvision downloads into ~/.cache/bs-encrypt/cifar10;
# without internet point it at a local copy: make encrypt CIFAR_DIR=/path/to/cifar10
CIFAR_DIR ?= $(if $(wildcard $(SHARED_CIFAR)/README.md),$(SHARED_CIFAR),$(HOME)/.cache/bs-encrypt/cifar10)
DATA   ?= data
RUNS   ?= runs

.PHONY: install test test-fast lint demo encrypt train bench bench-audit-photos bench-audit-presets bench-tree-photos reproduce reproduce-short reproduce-smoke audit clean \
	frontier frontier-search gpu-check recognition public-solver

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'

test:
	$(BIN)/pytest -q

# the suite without the tests marked slow (end-to-end runs of several commands)
test-fast:
	$(BIN)/pytest -q -m "not slow"

lint:
	$(BIN)/ruff check .

# the quick demo: encrypt the built-in synthetic set (5,000 + 1,000 images, N = 4) and train a
# narrow ResNet-18 on it on the CPU; prints the accuracy on the encrypted test images. Its key is
# fixed and public (sha256 of a label; for the synthetic demo data only, never for real data),
# and training uses one thread, so the demo's figure is the same on every run on one machine
# (another CPU instruction set rounds differently: docs/TRAINING.md, "Demo")
DEMO_KEY := fa6ab2bfcf948dcd1bb27c8a2c9d66d9db11068c78acf3947473459110f05d31
demo:
	mkdir -p $(DATA)
	(umask 077 && echo $(DEMO_KEY) > $(DATA)/demo-public.key)
	$(BIN)/bs-encrypt dataset --source synthetic --key $(DATA)/demo-public.key --n-keys 4 \
		--seed 0 --out $(DATA)/demo.h5 --overwrite
	$(BIN)/bs-train $(DATA)/demo.h5 --out $(RUNS)/demo --model resnet18-narrow --epochs 5 \
		--device cpu --threads 1 --overwrite

# classify new images with the demo model (after `make demo`): 40 new synthetic PNGs (named by
# their true class), encrypted by the client, classified by the cloud, joined back by the client
PREDICT_DIR := $(DATA)/predict-demo
.PHONY: predict
predict:
	rm -rf $(PREDICT_DIR)
	$(BIN)/python -m encrypt_tool.demo_images $(PREDICT_DIR)/images --n 40
	$(BIN)/bs-encrypt query $(PREDICT_DIR)/images --like $(DATA)/demo.h5 --key $(DATA)/demo-public.key \
		--out $(PREDICT_DIR)/query.h5
	$(BIN)/bs-predict $(RUNS)/demo $(PREDICT_DIR)/query.h5 --out $(PREDICT_DIR)/predictions.csv
	$(BIN)/bs-encrypt results $(PREDICT_DIR)/predictions.csv \
		--manifest $(PREDICT_DIR)/query.private-manifest.json --out $(PREDICT_DIR)/results.csv
	$(BIN)/python -m encrypt_tool.demo_images --score $(PREDICT_DIR)/results.csv

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

# the audit at photo size: 100 public-domain photos (scikit-image) at 224 px, 16x16 blocks, all
# attacks, 2 worker processes (docs/AUDIT.md)
bench-audit-photos:
	$(BIN)/python bench/bench_audit_photos.py --images 100 --jobs 2

# the private preset's audit against the paper preset with 16x16 blocks at 224 px: seconds per
# photo and peak memory of each process, and their ratio (docs/AUDIT.md)
bench-audit-presets:
	PYTHONPATH=. $(BIN)/python bench/bench_audit_presets.py --photos 24 --audit 3

# the cluster solver on defended photos, beside the union of the other attacks
bench-tree-photos:
	$(BIN)/python bench/bench_tree_photos.py

# the public-solver comparison (docs/AUDIT.md): copies of 9 photos for a jigsaw solver from
# outside the project; then PUBLIC_SOLVER_ARGS="--copies C.npz --gaps-orders ORDERS.npy" scores
# its answers beside the audit's attacks on the same copies
PUBLIC_SOLVER_ARGS ?= --images 9 --setting "16x16 drop 2" --no-audit \
	--save-copies $(RUNS)/public-solver-copies.npz
public-solver:
	mkdir -p $(RUNS)
	$(BIN)/python -m experiments.public_solver $(PUBLIC_SOLVER_ARGS)

bench:
	$(BIN)/python bench/bench_encrypt.py
	$(BIN)/python bench/bench_folder.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_audit.py
	$(BIN)/python bench/bench_compat.py
	$(BIN)/python bench/bench_predict.py
	$(BIN)/python bench/bench_defences.py
	$(BIN)/python bench/bench_scale.py

clean:
	rm -rf $(DATA)/demo.h5 $(DATA)/demo-public.key $(RUNS)/demo $(DATA)/predict-demo

# the paper's four conditions on CIFAR-10 (Fig. 3): paper schedule, a short GPU schedule, a CPU smoke run
reproduce:
	$(BIN)/bs-reproduce --data-dir $(CIFAR_DIR) --download --out $(RUNS)/reproduce

reproduce-short:
	$(BIN)/bs-reproduce --data-dir $(CIFAR_DIR) --download --epochs 20 --recipe onecycle \
		--out $(RUNS)/reproduce-short --overwrite

reproduce-smoke:
	$(BIN)/bs-reproduce --smoke --data-dir $(CIFAR_DIR) --download --out $(RUNS)/reproduce-smoke \
		--overwrite

# the privacy-accuracy frontier (block sizes, border drop, within-block transforms; leakage and
# accuracy; docs/FRONTIER.md) at the CPU budget, then the same settings' leakage on 224-px photos
frontier:
	$(BIN)/python -m experiments.frontier --budget cpu --out $(RUNS)/frontier --overwrite
	$(BIN)/python -m experiments.frontier.photos --out $(RUNS)/frontier-photos --overwrite

# the frontier search (docs/FRONTIER.md, "The frontier search"): STAGE=a leakage of every setting
# of the grid under every attack of the audit (the likely candidates first), b accuracy at the
# quick budget of those that meet the privacy goal, c the best three at the reference budget,
# d the winner at the full budget, report the tables; each stage resumes where it stopped.
# SEARCH_ARGS="--data photos" for 224-px photos, "--setting NAME" for chosen settings
STAGE ?= a
SEARCH_ARGS ?=
frontier-search:
	PYTHONPATH=. $(BIN)/python -m experiments.frontier_search --stage $(STAGE) \
		--data-dir $(CIFAR_DIR) --out $(RUNS)/frontier-search $(SEARCH_ARGS)

# the recognition test (docs/AUDIT.md): a narrow ResNet-18 trained on 10,000 plain CIFAR-10 images
# (10 epochs) classifies what the audit's attacks reassemble from the first 200 test images, per
# setting. Reads ../shared/data/cifar10; RECOGNITION_ARGS="--data DIR" for another copy (npz files
# or sheets), "--smoke" for synthetic images in about a minute
RECOGNITION_ARGS ?=
recognition:
	$(BIN)/python -m experiments.recognition --out $(RUNS)/recognition --overwrite \
		$(RECOGNITION_ARGS)

# everything that needs a GPU (about 8 minutes on one H100): DATA=DIR holds CIFAR-10 as npz files
# or sheets; works without the project's venv on a machine whose python3 has torch and h5py
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
gpu-check:
	$(GPU_PYTHON) -m experiments.gpu_check $(DATA) --out $(RUNS)/gpu-check --overwrite
