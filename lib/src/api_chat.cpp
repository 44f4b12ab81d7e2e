// C API: chat prompt rendering.
#include <cstring>
#include <vector>

#include "lib/src/chat_format.h"
#include "lib/src/error.h"
#include "lib/src/model.h"

using namespace moecpu;

extern "C" moecpu_status moecpu_chat_apply_template(const moecpu_model* model, const moecpu_chat_message* messages,
                                                    size_t n_messages, int32_t add_generation_prompt, char* buf,
                                                    size_t buf_size, size_t* out_len) {
    return guarded([&] {
        if (!model || (!messages && n_messages > 0) || !out_len)
            fail(MOECPU_ERR_INVALID_ARGUMENT, "moecpu_chat_apply_template: null argument");
        std::vector<ChatMessage> msgs;
        for (size_t i = 0; i < n_messages; ++i) {
            if (!messages[i].role || !messages[i].content)
                fail(MOECPU_ERR_INVALID_ARGUMENT, "moecpu_chat_apply_template: message " + std::to_string(i) + " has a null field");
            msgs.push_back({messages[i].role, messages[i].content});
        }
        const Vocab& v = *model->vocab;
        const std::string bos = v.bos() >= 0 ? v.token_text(v.bos()) : "";
        const std::string eos = v.eos() >= 0 ? v.token_text(v.eos()) : "";
        const std::string text = render_chat(detect_chat_format(v.chat_template()), msgs, add_generation_prompt != 0, bos, eos);
        *out_len = text.size();
        if (buf && buf_size > 0) {
            const size_t n = std::min(text.size(), buf_size);
            std::memcpy(buf, text.data(), n);
            if (n < buf_size) buf[n] = '\0';
        }
    });
}
