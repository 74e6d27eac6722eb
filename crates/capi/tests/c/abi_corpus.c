/*
 * The systematic ABI corpus through the C API: every fixture function `abi_N` of the library
 * FFIKIT_ABI_FIXTURE (signatures, one per line in index order, in FFIKIT_ABI_SIGNATURES) is
 * prepared with ffikit_prepare and called with ffikit_call by the corpus's own raw driver
 * `rc_N`, which fills the arguments, calls `abi_N` directly too, and reports whether both
 * calls agree (the same return, or for void the same checksum of the arguments seen).
 *
 * Run by `cargo xtask test` on the corpus's fixed sample (all of it with --full-abi), for the
 * asm backend (every signature) and the native backend (the signatures it takes: scalars).
 * Exit status 1 on any mismatch or failed call, with each one named.
 */
#define _POSIX_C_SOURCE 200809L
#include <ffikit.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t (*raw_driver)(int (*)(void *, uint64_t, void **, void *), void *, uint64_t);

struct run {
    ffikit_context *ctx;
    ffikit_function **fns;
    size_t *nargs;
};

/* `call` of rc_N: ffikit_call of the prepared abi_N; the status as int. */
static int call_through_ffikit(void *state, uint64_t index, void **args, void *ret) {
    struct run *r = state;
    return (int)ffikit_call(r->ctx, r->fns[index], args, r->nargs[index], ret);
}

/* The number of arguments of a signature's text: top-level commas, and `...` not counted. */
static size_t count_args(const char *sig) {
    const char *p = strchr(sig, '(');
    if (!p) return 0;
    int depth = 0;
    size_t n = 0, tokens = 0;
    for (p++; *p && !(depth == 0 && *p == ')'); p++) {
        if (*p == '{') depth++;
        else if (*p == '}') depth--;
        else if (*p == ',' && depth == 0) n++;
        else if (*p != ' ') tokens = 1;
    }
    if (!tokens) return 0;
    n++;
    if (strstr(sig, "...")) n--;
    return n;
}

int main(void) {
    const char *fixture = getenv("FFIKIT_ABI_FIXTURE");
    const char *list = getenv("FFIKIT_ABI_SIGNATURES");
    if (!fixture || !list) {
        fprintf(stderr, "abi_corpus: FFIKIT_ABI_FIXTURE and FFIKIT_ABI_SIGNATURES must be set\n");
        return 2;
    }
    FILE *f = fopen(list, "r");
    if (!f) {
        perror(list);
        return 2;
    }
    size_t cap = 1024, n = 0;
    char **sigs = malloc(cap * sizeof *sigs);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (n == cap) sigs = realloc(sigs, (cap *= 2) * sizeof *sigs);
        sigs[n++] = strdup(line);
    }
    fclose(f);
    void *dl = dlopen(fixture, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "abi_corpus: %s\n", dlerror());
        return 2;
    }
    const char *backends[] = {"asm", "native"};
    int failures = 0;
    for (int b = 0; b < 2; b++) {
        struct run r = {NULL, calloc(n, sizeof(ffikit_function *)), calloc(n, sizeof(size_t))};
        ffikit_library *lib = NULL;
        if (ffikit_context_new(backends[b], &r.ctx) != FFIKIT_STATUS_OK ||
            ffikit_library_open(r.ctx, fixture, &lib) != FFIKIT_STATUS_OK) {
            fprintf(stderr, "abi_corpus: %s: no context or library\n", backends[b]);
            return 2;
        }
        size_t called = 0, unsupported = 0, bad = 0;
        for (size_t i = 0; i < n; i++) {
            char sym[32];
            snprintf(sym, sizeof sym, "abi_%zu", i);
            ffikit_status st = ffikit_prepare(r.ctx, lib, sym, sigs[i], &r.fns[i]);
            if (st == FFIKIT_STATUS_UNSUPPORTED_SIGNATURE && b == 1) {
                unsupported++;
                continue;
            }
            if (st != FFIKIT_STATUS_OK) {
                fprintf(stderr, "abi_corpus: %s: prepare %s `%s`: %s: %s\n", backends[b], sym,
                        sigs[i], ffikit_status_name(st), ffikit_context_error(r.ctx));
                bad++;
                continue;
            }
            r.nargs[i] = count_args(sigs[i]);
            char drv[32];
            snprintf(drv, sizeof drv, "rc_%zu", i);
            raw_driver rc = (raw_driver)(uintptr_t)dlsym(dl, drv);
            if (!rc) {
                fprintf(stderr, "abi_corpus: no %s in the fixture\n", drv);
                return 2;
            }
            for (uint64_t seed = 3; seed < 5; seed++) {
                called++;
                if (rc(call_through_ffikit, &r, seed * 0x9e3779b97f4a7c15ULL) != 1) {
                    fprintf(stderr, "abi_corpus: %s: %s `%s` seed %llu: ffikit_call and the direct call disagree (%s)\n",
                            backends[b], sym, sigs[i], (unsigned long long)seed,
                            ffikit_context_error(r.ctx));
                    bad++;
                }
            }
            ffikit_function_free(r.fns[i]);
        }
        printf("abi_corpus: %s: %zu signatures, %zu calls through ffikit_call, %zu failed%s",
               backends[b], n, called, bad, b == 1 ? "" : "\n");
        if (b == 1) printf(" (%zu signatures the native backend does not take)\n", unsupported);
        failures += (int)bad;
        ffikit_library_free(lib);
        ffikit_context_free(r.ctx);
        free(r.fns);
        free(r.nargs);
    }
    for (size_t i = 0; i < n; i++) free(sigs[i]);
    free(sigs);
    dlclose(dl);
    return failures ? 1 : 0;
}
