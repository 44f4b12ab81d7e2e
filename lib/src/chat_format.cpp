#include "lib/src/chat_format.h"

#include "lib/src/error.h"

namespace moecpu {

namespace {
const std::string kUser = "<\xEF\xBD\x9CUser\xEF\xBD\x9C>";            // <｜User｜>
const std::string kAssistant = "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>";  // <｜Assistant｜>
}  // namespace

ChatFormat detect_chat_format(const std::string& t) {
    if (t.empty()) return ChatFormat::Deepseek3;
    if (t.find(kUser) != std::string::npos && t.find(kAssistant) != std::string::npos)
        return t.find(kAssistant + "<think>") != std::string::npos ? ChatFormat::Deepseek3Think : ChatFormat::Deepseek3;
    if (t.find("'User: '") != std::string::npos && t.find("'Assistant:") != std::string::npos) return ChatFormat::Deepseek2;
    fail(MOECPU_ERR_UNSUPPORTED, "the model's chat template is not one moecpu recognises (DeepSeek-V2/V3/R1 families)");
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                        const std::string& bos_text, const std::string& eos_text) {
    std::string out = bos_text;
    if (format == ChatFormat::Deepseek2) {
        for (const ChatMessage& m : messages) {
            if (m.role == "system") out += m.content + "\n\n";
            else if (m.role == "user") out += "User: " + m.content + "\n\n";
            else if (m.role == "assistant") out += "Assistant: " + m.content + eos_text;
        }
        if (add_generation_prompt) out += "Assistant:";
        return out;
    }
    // DeepSeek-V3 / R1: the (last) system prompt goes right after BOS.
    for (const ChatMessage& m : messages)
        if (m.role == "system") out = bos_text + m.content;
    for (const ChatMessage& m : messages) {
        if (m.role == "user") {
            out += kUser + m.content;
        } else if (m.role == "assistant") {
            std::string content = m.content;
            // R1's template keeps only the answer of earlier replies, not their reasoning.
            if (const size_t end = content.rfind("</think>"); end != std::string::npos)
                content = content.substr(end + 8);
            out += kAssistant + content + eos_text;
        }
    }
    if (add_generation_prompt) out += format == ChatFormat::Deepseek3Think ? kAssistant + "<think>\n" : kAssistant;
    return out;
}

}  // namespace moecpu
