#include "lib/src/weight_view.h"

#include "lib/src/gguf.h"
#include "quant/type_traits.h"

namespace moecpu {

WeightView make_weight_view(const gguf::TensorInfo& t) {
    WeightView v;
    v.type = t.type;
    v.data = t.data;
    v.cols = t.ne[0];
    v.rows = t.ne[1];
    v.n_mat = t.ne[2] * t.ne[3];
    v.row_bytes = row_size(t.type, t.ne[0]);
    v.mat_bytes = v.row_bytes * size_t(v.rows);
    return v;
}

}  // namespace moecpu
