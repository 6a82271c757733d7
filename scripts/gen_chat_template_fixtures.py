"""Expected renderings of real chat templates, made with Python's jinja2 set up as HF transformers
sets it up for apply_chat_template (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
loop controls, raise_exception, tojson without HTML escaping). Writes
test/fixtures/chat_templates.json; test/chat_template.test.ts renders the same cases in TypeScript.

The templates are the chat_template fields of public tokenizer_config.json files (named per case).
Run: python3 scripts/gen_chat_template_fixtures.py   (needs jinja2; no transformers, no network)
"""
import json
import os

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateRefused(Exception):
    pass


def raise_exception(message):
    raise TemplateRefused(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def render(template, variables):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(**variables)


# Qwen/Qwen2-0.5B-Instruct (ChatML with a default system message).
QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
# meta-llama/Meta-Llama-3-8B-Instruct (bos_token, filter precedence: only the content is trimmed).
LLAMA3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
# HuggingFaceH4/zephyr-7b-beta (newlines after tags: trim_blocks / lstrip_blocks matter).
ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
# meta-llama/Llama-2-7b-chat-hf ('\\n' escapes inside Jinja strings, .strip(), raise_exception).
LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
# mistralai/Mistral-7B-Instruct-v0.1.
MISTRAL = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
# A tool-calling template in the style of Qwen2.5's: {%- -%} whitespace control, namespace,
# tojson, loop controls, `is defined`, `in`, reversed loops.
TOOLS = """{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are helpful.' }}{%- endif %}
{{- '\\n\\n# Tools\\n<tools>' }}
{%- for tool in tools %}
    {{- '\\n' }}{{- tool | tojson }}
{%- endfor %}
{{- '\\n</tools><|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(last_user=-1) %}
{%- for message in messages %}{%- if message.role == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}{%- endfor %}
{%- for message in messages %}
    {%- if message.role == 'system' and tools %}{% continue %}{%- endif %}
    {{- '<|im_start|>' + message.role + '\\n' + message.content }}
    {%- if message.tool_calls is defined %}
        {%- for call in message.tool_calls %}
            {{- '\\n<tool_call>\\n' }}{{- {'name': call.name, 'arguments': call.arguments} | tojson }}{{- '\\n</tool_call>' }}
        {%- endfor %}
    {%- endif %}
    {{- '<|im_end|>\\n' }}
    {%- if loop.index0 == ns.last_user and 'urgent' in message.content %}{{- '<|note|>urgent<|im_end|>\\n' }}{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"""

DOCS_CHAT = [  # the conversation of HF's chat templating guide
    {"role": "system", "content": "You are a friendly chatbot who always responds in the style of a pirate"},
    {"role": "user", "content": "How many helicopters can a human eat in one sitting?"},
]
MULTI_TURN = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "  Hello there!  "},
    {"role": "assistant", "content": "Hi. How can I help?"},
    {"role": "user", "content": "Name a city in Japan. Ünïcödé: 東京"},
]
NO_SYSTEM = [
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi!"},
    {"role": "user", "content": "Bye"},
]

CASES = [
    ("qwen2 chatml, default system message", QWEN2, {}, NO_SYSTEM, True),
    ("qwen2 chatml, own system message, no generation prompt", QWEN2, {}, MULTI_TURN, False),
    ("llama3 with bos_token", LLAMA3, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}, MULTI_TURN, True),
    ("zephyr, the HF guide's example", ZEPHYR, {"bos_token": "<s>", "eos_token": "</s>"}, DOCS_CHAT, True),
    ("zephyr, multi-turn without generation prompt", ZEPHYR, {"bos_token": "<s>", "eos_token": "</s>"}, MULTI_TURN, False),
    ("llama2 with a system message", LLAMA2, {"bos_token": "<s>", "eos_token": "</s>"}, MULTI_TURN, True),
    ("llama2 without a system message", LLAMA2, {"bos_token": "<s>", "eos_token": "</s>"}, NO_SYSTEM, True),
    ("llama2 refuses roles that do not alternate", LLAMA2, {"bos_token": "<s>", "eos_token": "</s>"},
     [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], True),
    ("mistral", MISTRAL, {"bos_token": "<s>", "eos_token": "</s>"}, NO_SYSTEM, False),
    ("mistral refuses a system role", MISTRAL, {"bos_token": "<s>", "eos_token": "</s>"}, MULTI_TURN, False),
    ("mistral refuses a role other than user and assistant", MISTRAL, {"bos_token": "<s>", "eos_token": "</s>"},
     [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}], False),
    ("tool template without tools", TOOLS, {}, MULTI_TURN, True),
]

TOOL_LIST = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city, °C",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
TOOL_CHAT = [
    {"role": "system", "content": "Use tools."},
    {"role": "user", "content": "urgent: weather in Kyoto?"},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Kyoto"}}]},
    {"role": "tool", "content": "21"},
]


def case(name, template, specials, messages, add_generation_prompt, tools=None):
    variables = dict(specials, messages=messages, add_generation_prompt=add_generation_prompt)
    if tools is not None:
        variables["tools"] = tools
    out = {"name": name, "template": template, "specials": specials, "messages": messages,
           "add_generation_prompt": add_generation_prompt}
    if tools is not None:
        out["tools"] = tools
    try:
        out["expected"] = render(template, variables)
    except TemplateRefused as e:
        out["error"] = str(e)
    return out


def main():
    cases = [case(*c) for c in CASES]
    cases.append(case("tool template with tools, tool calls and tojson", TOOLS, {}, TOOL_CHAT, True, TOOL_LIST))
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "chat_templates.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    for c in cases:
        print(c["name"], "->", repr(c.get("expected", "ERROR " + c.get("error", ""))))


if __name__ == "__main__":
    main()
