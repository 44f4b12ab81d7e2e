/* A program outside the moecpu tree, built against an installed moecpu twice: through the CMake
 * package (find_package(moecpu) -> moecpu::moecpu) and through pkg-config. It uses only the public
 * header. Usage: moecpu_consumer [EXPECTED_VERSION] */
#include <moecpu.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
    const char* version = moecpu_version();
    printf("moecpu %s (API %d)\n", version, MOECPU_API_VERSION);
    if (argc > 1 && strcmp(version, argv[1]) != 0) {
        fprintf(stderr, "version mismatch: library says %s, expected %s\n", version, argv[1]);
        return 1;
    }
    char header_version[32];
    snprintf(header_version, sizeof header_version, "%d.%d.%d", MOECPU_VERSION_MAJOR,
             MOECPU_VERSION_MINOR, MOECPU_VERSION_PATCH);
    if (strcmp(version, header_version) != 0) {
        fprintf(stderr, "header says %s, library says %s\n", header_version, version);
        return 1;
    }
    if (strcmp(moecpu_status_name(MOECPU_OK), "MOECPU_OK") != 0 ||
        strcmp(moecpu_status_name(MOECPU_ERR_IO), "MOECPU_ERR_IO") != 0) {
        fprintf(stderr, "unexpected status names\n");
        return 1;
    }
    const char* err = moecpu_last_error();
    if (err == NULL || err[0] != '\0') {
        fprintf(stderr, "fresh thread has a last error: '%s'\n", err ? err : "(null)");
        return 1;
    }
    const char* isa = moecpu_cpu_isa();
    if (isa == NULL || isa[0] == '\0') {
        fprintf(stderr, "moecpu_cpu_isa() returned nothing\n");
        return 1;
    }
    printf("kernel set: %s\n", isa);

    /* A failing call must come back as a status code with a message, never as an exception or a
     * crash crossing the C boundary. */
    moecpu_model* model = NULL;
    moecpu_status st = moecpu_model_load("/nonexistent/moecpu-install-test.gguf",
                                         moecpu_model_default_params(), &model);
    err = moecpu_last_error();
    if (st == MOECPU_OK || model != NULL || err == NULL || err[0] == '\0') {
        fprintf(stderr, "loading a missing file: status %s, message '%s'\n", moecpu_status_name(st),
                err ? err : "(null)");
        return 1;
    }
    printf("missing file -> %s: %s\n", moecpu_status_name(st), err);
    printf("install consumer OK\n");
    return 0;
}
