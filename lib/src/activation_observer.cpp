// Process-wide activation observer (see activation_observer.h).
#include "lib/src/activation_observer.h"

#include <atomic>

namespace moecpu {

namespace {
std::atomic<ActivationObserver*> g_observer{nullptr};
}

void set_activation_observer(ActivationObserver* observer) { g_observer.store(observer, std::memory_order_release); }

ActivationObserver* activation_observer() { return g_observer.load(std::memory_order_acquire); }

}  // namespace moecpu
