// RecheckPolicy: every check runs until a long clean streak, then only canaries; a canary that
// finds missing pages or a new major fault brings back checking everything.
#include <catch2/catch.hpp>

#include "lib/src/recheck_policy.h"

using moecpu::RecheckPolicy;

namespace {

// Runs n checks the policy asks for (all clean); returns how many of n decisions were checks.
int64_t run_clean(RecheckPolicy& p, int64_t n) {
    int64_t checked = 0;
    for (int64_t i = 0; i < n; ++i)
        if (p.should_check()) {
            p.on_checked(false);
            ++checked;
        }
    return checked;
}

// Makes the policy trust the page cache (a full clean streak).
void make_trusting(RecheckPolicy& p) {
    p.on_routing(3);
    REQUIRE(run_clean(p, RecheckPolicy::kTrustAfter) == RecheckPolicy::kTrustAfter);
    REQUIRE(p.trusting());
}

}  // namespace

TEST_CASE("recheck policy checks everything until a clean streak, then canaries", "[prefetch]") {
    RecheckPolicy p;
    CHECK_FALSE(p.trusting());
    make_trusting(p);
    const int64_t n = 800;
    CHECK(run_clean(p, n) == n / RecheckPolicy::kCanaryEvery);
    CHECK(p.trusting());
}

TEST_CASE("recheck policy: missing pages found by a canary end the trust", "[prefetch]") {
    RecheckPolicy p;
    make_trusting(p);
    int64_t until_canary = 0;
    while (!p.should_check()) ++until_canary;
    CHECK(until_canary < RecheckPolicy::kCanaryEvery);
    p.on_checked(true);
    CHECK_FALSE(p.trusting());
    CHECK(run_clean(p, 10) == 10);
}

TEST_CASE("recheck policy: a new major fault ends the trust, an unchanged count keeps it", "[prefetch]") {
    RecheckPolicy p;
    make_trusting(p);
    p.on_routing(3);
    CHECK(p.trusting());
    p.on_routing(4);
    CHECK_FALSE(p.trusting());
    CHECK(run_clean(p, 10) == 10);
}
