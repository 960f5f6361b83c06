# heartprint: the two commands a fresh machine needs (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch is pinned in the same pip command as monai so that pip takes the CPU build on disk.
TORCH  := torch==2.13.0

.PHONY: demo test test-accuracy test-e2e install-dev benchmark fuzz serve viewer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Set up, then run the main job on generated data: a synthetic cine short-axis DICOM study
# is written, analysed end to end, and compared with its exact answers.
demo: $(BIN)/python
	$(BIN)/pip install -q -e ".[report,fhir]"
	$(BIN)/heartprint demo --out demo-out

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(TORCH) -e ".[dev,dl,store,report,risk,cohort,service]"

# Set up with the dev extras and run the test suite (pytest exits non-zero on "no tests"): two
# worker processes, each test file on one worker (module fixtures built once), one inference
# thread per worker.
test: install-dev
	HEARTPRINT_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not accuracy"

# The shipped network re-measured (about 1 min): issue 3's phantom function check through the whole
# pipeline on two analytic hearts, and the model card reproduced on real ACDC/Sunnybrook patients.
test-accuracy: install-dev
	HEARTPRINT_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile -m accuracy

# The service end to end against a real Orthanc and OHIF in headless Chromium (about 2 min): the demo
# patient stored into Orthanc is analysed by the watching worker, its SEG and SR come back by QIDO/WADO
# and OHIF draws the SEG over the cine and places the SR's volumes (tests/test_service_e2e.py), plus the
# Orthanc round trips of the service and the cohort. Needs Debian orthanc, orthanc-dicomweb, chromium
# and npm (for OHIF); Orthanc runs in a private network namespace (unshare -rn).
test-e2e: install-dev
	test -f .ohif/dist/index.html || tools/install_ohif.sh || echo "OHIF not installed (needs npm): the viewer test will skip"
	HEARTPRINT_THREADS=1 HEARTPRINT_ORTHANC_TESTS=1 $(BIN)/python -m pytest -q -rs \
		tests/test_service_e2e.py tests/test_service_orthanc.py tests/test_cohort_orthanc.py

benchmark: install-dev
	$(BIN)/python benchmarks/segmentation_accuracy.py
	$(BIN)/python benchmarks/cine_speed.py

# On demand: 2,000 seeded DICOM mutants through scan, load, analysis, outputs and de-identification
# (worker processes, 2 GiB / 60 s each); prints counts per outcome, exits non-zero on any crash,
# hang, memory blow-up or write outside the output root.
fuzz: install-dev
	$(BIN)/python benchmarks/fuzz.py --mutants 2000 --seed 1 --jobs 2

# Orthanc + API + worker on loopback with the demo patient loaded (heartprint.service, docs/service.md);
# Ctrl-C stops them all by PID. Needs Debian orthanc + orthanc-dicomweb. Where Orthanc cannot bind to
# loopback alone (some sandboxes), run it inside `unshare -rn` with its clients.
serve: install-dev
	test -f .ohif/dist/index.html || tools/install_ohif.sh || echo "OHIF not installed (needs npm); /viewer/ will say how"
	$(BIN)/python -m heartprint.service stack --demo

# The OHIF viewer served at /viewer/ (npm @ohif/app, pinned and SHA-512 checked; not committed)
viewer: install-dev
	tools/install_ohif.sh

clean:
	rm -rf $(VENV) demo-out build *.egg-info .ohif
