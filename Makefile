# diffah — see README.md.
GO      ?= go
BIN     := bin
DEMO    := demo

.PHONY: all build test vet fmt-check demo bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/... ./tools/mkimage

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Every test: Go tests, fuzz seed corpora and the testscript suite.
test: vet fmt-check
	$(GO) test -count=1 ./...

# Build two versions of a small realistic image, ship the delta, rebuild
# the target from the baseline and compare SHA-256 sums.
demo: build
	@rm -rf $(DEMO) && mkdir -p $(DEMO)/producer $(DEMO)/consumer
	@echo "== building app v1 and v2 (docker-archive, as docker save writes it)"
	$(BIN)/mkimage -version 1 -format docker-legacy -tag app:1.0 -o $(DEMO)/producer/v1.tar
	$(BIN)/mkimage -version 2 -format docker-legacy -tag app:2.0 -o $(DEMO)/producer/v2.tar
	@cp $(DEMO)/producer/v1.tar $(DEMO)/consumer/v1.tar
	@echo "== producer: export"
	$(BIN)/diffah export --pair app=$(DEMO)/producer/v1.tar,$(DEMO)/producer/v2.tar $(DEMO)/app_v1_to_v2.tar
	@echo "== inspect"
	$(BIN)/diffah inspect $(DEMO)/app_v1_to_v2.tar
	@echo "== consumer: import (has only v1.tar and the delta)"
	$(BIN)/diffah import --baseline app=$(DEMO)/consumer/v1.tar $(DEMO)/app_v1_to_v2.tar $(DEMO)/consumer/out
	@echo "== sizes"
	@ls -l $(DEMO)/producer/v2.tar $(DEMO)/app_v1_to_v2.tar | awk '{print $$5, $$9}'
	@echo "== sha256: producer's v2.tar and consumer's rebuilt app.tar"
	@sha256sum $(DEMO)/producer/v2.tar $(DEMO)/consumer/out/app.tar
	@a=$$(sha256sum < $(DEMO)/producer/v2.tar); b=$$(sha256sum < $(DEMO)/consumer/out/app.tar); \
	if [ "$$a" = "$$b" ]; then echo "MATCH: the rebuilt image is byte-identical"; else echo "MISMATCH"; exit 1; fi

# Measure diffah against zstd --patch-from on the pairs bench/mkpairs.sh
# builds (not part of test): make bench [PAIRS=random1m,go]
bench: build
	$(GO) build -o $(BIN)/deltabench ./bench/deltabench
	$(BIN)/deltabench -diffah $(BIN)/diffah $(if $(PAIRS),-pairs $(PAIRS))

clean:
	rm -rf $(BIN) $(DEMO)
