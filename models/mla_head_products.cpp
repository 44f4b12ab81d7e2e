#include "models/mla_head_products.h"

#include <algorithm>

#include "cpu-kernels/fork_threshold.h"
#include "cpu-kernels/matmul.h"
#include "lib/src/linear.h"

namespace moecpu {
namespace {

// Head hd's product, run by one thread alone with that thread's activation scratch.
void head_product(const HeadProducts& p, int64_t hd, int ith) {
    kernels::matmul_thread(matmul_args(p.w.matrix(hd), p.x + hd * p.x_head_offset, p.x_stride, p.n_tokens,
                                       p.y + hd * p.y_head_offset, p.y_stride,
                                       p.work + size_t(ith) * p.work_bytes_per_thread),
                           0, 1);
}

}  // namespace

bool run_head_products(const HeadProducts& p, int n_threads) {
    if (kernels::matmul_work_size(p.w.type, p.w.cols, p.n_tokens) > p.work_bytes_per_thread) return false;
    const int64_t H = p.w.n_mat;
    const int64_t macs = H * p.w.rows * p.w.cols * p.n_tokens;
    const int team = std::max(1, std::min({kernels::threads_for_work(macs, n_threads), p.n_work_threads,
                                           int(std::max<int64_t>(1, H))}));
    // Whole heads per thread, each run by its thread alone: no barrier inside the region.
    kernels::run_on_team(team, [&](int ith, int nth) {
        for (int64_t hd = H * ith / nth; hd < H * (ith + 1) / nth; ++hd) head_product(p, hd, ith);
    });
    return true;
}

}  // namespace moecpu
