// Renders a conversation the way the model's embedded chat template does, for the template
// families DeepSeek models ship (recognised by their markers rather than run as Jinja):
//   deepseek3  V3 / R1: BOS system <｜User｜>u <｜Assistant｜>a<｜end▁of▁sentence｜> …; R1's template
//              adds "<think>\n" after the generation prompt and drops earlier replies' reasoning.
//   deepseek2  V2 / V2-Lite chat: BOS system\n\n User: u\n\n Assistant: a<eos> … "Assistant:"
#pragma once
#include <string>
#include <vector>

namespace moecpu {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

enum class ChatFormat { Deepseek3, Deepseek3Think, Deepseek2 };

// Picks the format from a template's text; an empty template means DeepSeek-V3's.
// Throws Error(UNSUPPORTED) for templates of other families.
ChatFormat detect_chat_format(const std::string& chat_template);

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        const std::string& bos_text, const std::string& eos_text);

}  // namespace moecpu
