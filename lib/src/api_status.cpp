// C API: version, status names and the per-thread last-error message.
#include <string>

#include "lib/src/error.h"
#include "moecpu.h"

namespace moecpu {
namespace {
thread_local std::string g_last_error;
}
void set_last_error(const std::string& message) { g_last_error = message; }
}  // namespace moecpu

#define MOECPU_STR2(x) #x
#define MOECPU_STR(x) MOECPU_STR2(x)

extern "C" {

const char* moecpu_version(void) {
    return MOECPU_STR(MOECPU_VERSION_MAJOR) "." MOECPU_STR(MOECPU_VERSION_MINOR) "." MOECPU_STR(MOECPU_VERSION_PATCH);
}

const char* moecpu_last_error(void) { return moecpu::g_last_error.c_str(); }

const char* moecpu_status_name(moecpu_status status) {
    switch (status) {
        case MOECPU_OK: return "MOECPU_OK";
        case MOECPU_ERR_INVALID_ARGUMENT: return "MOECPU_ERR_INVALID_ARGUMENT";
        case MOECPU_ERR_IO: return "MOECPU_ERR_IO";
        case MOECPU_ERR_BAD_FORMAT: return "MOECPU_ERR_BAD_FORMAT";
        case MOECPU_ERR_UNSUPPORTED: return "MOECPU_ERR_UNSUPPORTED";
        case MOECPU_ERR_OUT_OF_MEMORY: return "MOECPU_ERR_OUT_OF_MEMORY";
        case MOECPU_ERR_CONTEXT_FULL: return "MOECPU_ERR_CONTEXT_FULL";
        case MOECPU_ERR_CANCELLED: return "MOECPU_ERR_CANCELLED";
        case MOECPU_ERR_INTERNAL: return "MOECPU_ERR_INTERNAL";
    }
    return "MOECPU_ERR_UNKNOWN";
}

}  // extern "C"
