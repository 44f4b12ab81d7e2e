// Internal error type. Library code throws moecpu::Error with a status and a message that names
// the file and the problem; the API boundary (api_*.cpp) is the only place that catches.
#pragma once
#include <stdexcept>
#include <string>

#include "moecpu.h"

namespace moecpu {

class Error : public std::runtime_error {
public:
    Error(moecpu_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    moecpu_status status() const { return status_; }

private:
    moecpu_status status_;
};

[[noreturn]] inline void fail(moecpu_status status, const std::string& message) {
    throw Error(status, message);
}

// Sets the calling thread's last-error message (empty string clears it).
void set_last_error(const std::string& message);

// Runs fn at the C boundary: exceptions become a status plus the thread's last-error message.
template <class Fn>
moecpu_status guarded(Fn&& fn) noexcept {
    try {
        fn();
        return MOECPU_OK;
    } catch (const Error& e) {
        set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_last_error("out of memory");
        return MOECPU_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(std::string("internal error: ") + e.what());
        return MOECPU_ERR_INTERNAL;
    } catch (...) {
        set_last_error("internal error: unknown exception");
        return MOECPU_ERR_INTERNAL;
    }
}

}  // namespace moecpu
