"""Problems found in definitions, and the words an admin reads for each.

A `Problem` is plain data: a stable `code`, the parameters of its message, and where it is
(file, JSON pointer, line, column). Text is produced only when a problem is shown, in the
language asked for, from `MESSAGES` below — so tests can match codes and exact wording, and
the core needs no Django to speak Chinese. Every code has both a zh-hans and an en text
(a test checks it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

DEFAULT_LANGUAGE = "zh-hans"


class LinliError(Exception):
    """Base of every error Linli reports to a person."""


class PersonError(LinliError):
    """A refusal a person acts on (sold out, post full…): one English `message` template whose
    Chinese lives in the catalogue (locale/zh_Hans), like every other word a person reads.

    Subclasses set `code` (stable, for callers and the API) and `message` (marked with
    gettext_noop so makemessages finds it); the keyword arguments fill it in. A parameter may be a
    lazy translation (gettext_lazy), so it is spoken in the reader's language too."""

    code = ""
    message = ""

    def __init__(self, **params):
        self.params = params
        super().__init__(self.message.format(**{k: str(v) for k, v in params.items()}))

    def text(self, language=DEFAULT_LANGUAGE):
        from django.utils import translation

        with translation.override(language or DEFAULT_LANGUAGE):
            return translation.gettext(self.message).format(**{k: str(v) for k, v in self.params.items()})


class DefinitionError(LinliError):
    """An author's mistake in a definition file; carries every problem found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(p.render("en") for p in self.problems))


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict = field(default_factory=dict, compare=False, hash=False)
    path: str = ""
    pointer: str = ""
    line: int = 0
    column: int = 0

    def message(self, language: str = DEFAULT_LANGUAGE) -> str:
        return render_message(self.code, self.params, language)

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        """The contract line: PATH:LINE:COL: message (0 where unknown)."""
        return f"{self.path}:{self.line}:{self.column}: {self.message(language)}"

    def sort_key(self):
        return (self.path, self.line, self.column, self.code)


def suggest(word, candidates) -> str:
    """The closest known name, for "did you mean" hints; '' when nothing is close."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return matches[0] if matches else ""


def _hint(params, language):
    close = params.get("suggestion")
    if not close:
        return ""
    return f" — 你是否想写 '{close}'?" if language.startswith("zh") else f" — did you mean '{close}'?"


def render_message(code, params, language=DEFAULT_LANGUAGE):
    texts = MESSAGES[code]
    lang = "zh-hans" if language.lower().startswith("zh") else "en"
    text = texts[lang].format(**{k: _show(v, lang) for k, v in params.items()})
    return text + _hint(params, lang)


def _show(value, lang="en"):
    if isinstance(value, dict) and "en" in value:  # a parameter that is itself translated (it may quote the file)
        return _quoted(value.get(lang, value["en"]), limit=400)
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(_quoted(str(v)) for v in sorted(value, key=str))
    return _quoted(value) if isinstance(value, str) else value


def _quoted(text, limit=120):
    """Text from the file itself, made safe for a one-line message: control characters (a
    newline could forge another PATH:LINE:COL line) are escaped, and long text is cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "…"


# code: {"zh-hans": ..., "en": ...}. Parameters are named; a "suggestion" param adds a hint.
MESSAGES = {
    # gate 1: parse
    "io.unreadable": {
        "zh-hans": "无法读取文件: {reason}",
        "en": "cannot read the file: {reason}",
    },
    "io.encoding": {
        "zh-hans": "文件不是 UTF-8 编码",
        "en": "the file is not UTF-8 encoded",
    },
    "io.too_large": {
        "zh-hans": "文件太大 ({size} 字节, 最多 {limit})",
        "en": "the file is too large ({size} bytes, at most {limit})",
    },
    "io.unknown_file": {
        "zh-hans": "不认识的定义文件 '{name}': 表单应为 *.schema.json, 流程应为 *.flow.yaml, 社区为 community.yaml",
        "en": "unknown definition file '{name}': forms are *.schema.json, flows *.flow.yaml, the community community.yaml",
    },
    "yaml.syntax": {
        "zh-hans": "YAML 语法错误: {reason}",
        "en": "YAML syntax error: {reason}",
    },
    "yaml.tab": {
        "zh-hans": "这一行用了制表符 (Tab) 缩进; YAML 只能用空格缩进",
        "en": "this line is indented with a tab; YAML indents with spaces only",
    },
    "yaml.tag": {
        "zh-hans": "不允许使用 YAML 标签 '{tag}' (只接受普通的文本、数字、列表和映射)",
        "en": "YAML tag '{tag}' is not allowed (only plain text, numbers, lists and mappings)",
    },
    "yaml.alias": {
        "zh-hans": "不允许使用 YAML 锚点和别名 (&, *): 请把内容直接写出来",
        "en": "YAML anchors and aliases (&, *) are not allowed: write the content out",
    },
    "yaml.ambiguous_bool": {
        "zh-hans": "'{value}' 在 YAML 中可能被当成是/否 (布尔值); 如果是文字, 请加引号: '{value}'",
        "en": "'{value}' may be read as a yes/no (boolean) in YAML; if you mean the text, quote it: '{value}'",
    },
    "yaml.key_type": {
        "zh-hans": "键 '{key}' 必须是文字",
        "en": "key '{key}' must be text",
    },
    "yaml.multiple_documents": {
        "zh-hans": "一个文件只能有一个 YAML 文档 (去掉多余的 '---')",
        "en": "a file holds one YAML document only (remove the extra '---')",
    },
    "yaml.too_deep": {
        "zh-hans": "嵌套太深 (超过 {limit} 层)",
        "en": "nested too deeply (more than {limit} levels)",
    },
    "json.syntax": {
        "zh-hans": "JSON 语法错误: {reason}",
        "en": "JSON syntax error: {reason}",
    },
    "doc.duplicate_key": {
        "zh-hans": "键 '{key}' 重复出现",
        "en": "key '{key}' appears twice",
    },
    "doc.empty": {
        "zh-hans": "文件是空的",
        "en": "the file is empty",
    },
    # gate 2: meta-validation
    "meta.required": {
        "zh-hans": "缺少必填项 '{key}'",
        "en": "missing required key '{key}'",
    },
    "meta.unknown_key": {
        "zh-hans": "不认识的键 '{key}' (可用: {allowed})",
        "en": "unknown key '{key}' (allowed: {allowed})",
    },
    "meta.type": {
        "zh-hans": "'{key}' 应为{expected}, 但写的是{actual}",
        "en": "'{key}' should be {expected}, not {actual}",
    },
    "meta.enum": {
        "zh-hans": "'{key}' 的值 '{value}' 不在可选范围内: {allowed}",
        "en": "'{key}' has value '{value}', which is not one of: {allowed}",
    },
    "meta.pattern.name": {
        "zh-hans": "名称 '{value}' 不合规: 只能用小写英文字母、数字和下划线, 以字母开头",
        "en": "name '{value}' is not allowed: use lower-case letters, digits and _, starting with a letter",
    },
    "meta.pattern.slug": {
        "zh-hans": "标识 '{value}' 不合规: 只能用小写英文字母、数字和连字符 -, 以字母开头",
        "en": "identifier '{value}' is not allowed: use lower-case letters, digits and -, starting with a letter",
    },
    "meta.pattern.duration": {
        "zh-hans": "时长 '{value}' 写法不对: 写成数字加单位, 如 3d (天)、5wd (工作日)、12h (小时)、30m (分钟)、2w (周)",
        "en": "duration '{value}' is not valid: a number and a unit, e.g. 3d (days), 5wd (working days), 12h, 30m, 2w",
    },
    "meta.pattern.ratio": {
        "zh-hans": "比例 '{value}' 写法不对: 写成分数 2/3、百分比 50% 或 0 到 1 之间的小数",
        "en": "share '{value}' is not valid: a fraction like 2/3, a percentage like 50% or a number between 0 and 1",
    },
    "meta.pattern.reference": {
        "zh-hans": "引用 '{value}' 写法不对: 写表单字段名 (如 urgency) 或 input.字段名",
        "en": "reference '{value}' is not valid: a form field (e.g. urgency) or input.<field>",
    },
    "meta.pattern": {
        "zh-hans": "'{key}' 的值 '{value}' 格式不对",
        "en": "'{key}' has value '{value}' in the wrong format",
    },
    "meta.too_short": {
        "zh-hans": "'{key}' 至少要有 {limit} 项",
        "en": "'{key}' needs at least {limit} entries",
    },
    "meta.empty_list": {
        "zh-hans": "'{key}' 至少要有一项",
        "en": "'{key}' needs at least one entry",
    },
    "meta.too_long": {
        "zh-hans": "'{key}' 最多 {limit} 项",
        "en": "'{key}' takes at most {limit} entries",
    },
    "meta.text_too_short": {
        "zh-hans": "'{key}' 不能为空",
        "en": "'{key}' must not be empty",
    },
    "meta.text_too_long": {
        "zh-hans": "'{key}' 太长 (最多 {limit} 个字符)",
        "en": "'{key}' is too long (at most {limit} characters)",
    },
    "meta.range": {
        "zh-hans": "'{key}' 的值 {value} 超出范围 ({bound})",
        "en": "'{key}' is {value}, out of range ({bound})",
    },
    "meta.not_unique": {
        "zh-hans": "'{key}' 中有重复项",
        "en": "'{key}' has duplicate entries",
    },
    "meta.one_of": {
        "zh-hans": "'{key}' 写法不对: {detail}",
        "en": "'{key}' is not valid: {detail}",
    },
    "meta.points_action": {
        "zh-hans": "积分动作要么写 rule (规则), 要么同时写 category 和 points, 不能两者都写",
        "en": "a points action takes either a rule, or a category with points — not both",
    },
    "meta.action_one_key": {
        "zh-hans": "每个动作只能有一个键 (如 award_points、notify), 这里有 {count} 个",
        "en": "each action has exactly one key (e.g. award_points, notify), this one has {count}",
    },
    "meta.other": {
        "zh-hans": "'{key}' 不符合格式要求: {detail}",
        "en": "'{key}' does not fit the format: {detail}",
    },
    # forms
    "form.not_object": {
        "zh-hans": "表单的顶层必须是对象 (\"type\": \"object\", 带 \"properties\")",
        "en": "a form's top level must be an object (\"type\": \"object\" with \"properties\")",
    },
    "form.bad_schema": {
        "zh-hans": "不是有效的 JSON Schema: {reason}",
        "en": "not a valid JSON Schema: {reason}",
    },
    "form.unsupported_keyword": {
        "zh-hans": "表单无法显示关键字 '{keyword}': {why}",
        "en": "the form renderer cannot show '{keyword}': {why}",
    },
    "form.unknown_keyword": {
        "zh-hans": "不认识的关键字 '{keyword}'",
        "en": "unknown keyword '{keyword}'",
    },
    "form.field_key": {
        "zh-hans": "字段名 '{key}' 不合规: 只能用小写英文字母、数字和下划线, 以字母开头, 最长 64 个字符",
        "en": "field key '{key}' is not allowed: use lower-case letters, digits and _, starting with a letter, at most 64 characters",
    },
    "form.type_list": {
        "zh-hans": "字段只能有一种类型, 不能是列表 {types}",
        "en": "a field has one type, not a list {types}",
    },
    "form.unknown_type": {
        "zh-hans": "不认识的类型 '{type}'",
        "en": "unknown type '{type}'",
    },
    "form.unknown_format": {
        "zh-hans": "不认识的格式 '{format}' (可用: {allowed})",
        "en": "unknown format '{format}' (allowed: {allowed})",
    },
    "form.additional_properties": {
        "zh-hans": "additionalProperties 只能写 false",
        "en": "additionalProperties may only be false",
    },
    "form.choice_without_const": {
        "zh-hans": "{keyword} 只能用来列出带标签的选项: 每一项写成 {{\"const\": 值, \"title\": \"标签\"}}",
        "en": "{keyword} only lists labelled choices: write each as {{\"const\": value, \"title\": \"label\"}}",
    },
    "form.array_items": {
        "zh-hans": "列表字段需要 'items' 说明每一项的内容",
        "en": "a list field needs 'items' to say what each entry is",
    },
    "form.condition_shape": {
        "zh-hans": "条件 'if' 只能判断字段等于某值: {{\"properties\": {{\"字段\": {{\"const\": 值}}}}}} 或 enum",
        "en": "an 'if' condition may only test fields against values: {{\"properties\": {{\"field\": {{\"const\": value}}}}}} or enum",
    },
    "form.condition_field": {
        "zh-hans": "条件中的字段 '{field}' 不存在",
        "en": "the condition names field '{field}', which does not exist",
    },
    "form.allof_shape": {
        "zh-hans": "allOf 只能用来组合多个 if/then/else 条件",
        "en": "allOf may only combine if/then/else conditions",
    },
    "form.required_unknown": {
        "zh-hans": "必填字段 '{field}' 不在 properties 中",
        "en": "required field '{field}' is not in properties",
    },
    "form.dependent_unknown": {
        "zh-hans": "dependentRequired 中的字段 '{field}' 不存在",
        "en": "dependentRequired names field '{field}', which does not exist",
    },
    "form.ref_remote": {
        "zh-hans": "$ref '{ref}' 不允许: 只能引用本文件 (#/$defs/...) 或 ../_shared/ 中的定义, 不会从网络获取",
        "en": "$ref '{ref}' is not allowed: refer to this file (#/$defs/...) or to ../_shared/ only; nothing is fetched from the network",
    },
    "form.ref_unknown": {
        "zh-hans": "$ref '{ref}' 指向的定义不存在",
        "en": "$ref '{ref}' points at a definition that does not exist",
    },
    "form.ref_cycle": {
        "zh-hans": "$ref '{ref}' 循环引用了自己",
        "en": "$ref '{ref}' refers back to itself",
    },
    "form.pattern_invalid": {
        "zh-hans": "正则表达式 '{pattern}' 写错了: {reason}",
        "en": "the pattern '{pattern}' is not a valid regular expression: {reason}",
    },
    "form.pattern_redos": {
        "zh-hans": "正则表达式 '{pattern}' 有嵌套的重复 (如 (a+)+), 遇到某些输入会极慢; 请改写",
        "en": "the pattern '{pattern}' nests repetitions (like (a+)+) and can take exponential time on some input; rewrite it",
    },
    "form.default_invalid": {
        "zh-hans": "默认值 {value} 不符合字段自身的规则: {reason}",
        "en": "the default {value} does not satisfy the field's own rules: {reason}",
    },
    "form.ui_unknown_field": {
        "zh-hans": "x-ui 中提到的字段 '{field}' 不存在",
        "en": "x-ui names field '{field}', which does not exist",
    },
    "form.step_missing_field": {
        "zh-hans": "字段 '{field}' 不在任何步骤 (steps) 中, 填表的人将看不到它",
        "en": "field '{field}' is in no step, so nobody filling the form would see it",
    },
    "form.step_duplicate_field": {
        "zh-hans": "字段 '{field}' 出现在多个步骤中",
        "en": "field '{field}' appears in more than one step",
    },
    "form.widget_mismatch": {
        "zh-hans": "控件 '{widget}' 不能用于 {type} 类型的字段",
        "en": "widget '{widget}' cannot show a field of type {type}",
    },
    "form.too_deep": {
        "zh-hans": "表单嵌套太深 (超过 {limit} 层)",
        "en": "the form nests too deeply (more than {limit} levels)",
    },
    "form.no_fields": {
        "zh-hans": "表单没有任何字段",
        "en": "the form has no fields",
    },
    # community
    "community.folder_mismatch": {
        "zh-hans": "社区标识 '{slug}' 与所在文件夹 '{folder}' 不一致",
        "en": "community '{slug}' does not match its folder '{folder}'",
    },
    "community.missing": {
        "zh-hans": "文件夹 '{folder}' 缺少 community.yaml",
        "en": "folder '{folder}' has no community.yaml",
    },
    "community.unknown_parent": {
        "zh-hans": "上级社区 '{name}' 不存在",
        "en": "parent community '{name}' does not exist",
    },
    "community.parent_cycle": {
        "zh-hans": "上级社区形成循环: {chain}",
        "en": "the parent communities form a loop: {chain}",
    },
    "community.duplicate": {
        "zh-hans": "{kind} '{name}' 重复定义",
        "en": "{kind} '{name}' is defined twice",
    },
    "community.timezone": {
        "zh-hans": "时区 '{name}' 不是有效的 IANA 时区名 (例如 Asia/Shanghai)",
        "en": "'{name}' is not an IANA time zone name (such as Asia/Shanghai)",
    },
    "community.level_order": {
        "zh-hans": "单位 '{unit}' 的层级 '{level}' 应在上级单位的层级 '{parent_level}' 之下",
        "en": "unit '{unit}' at level '{level}' must sit below its parent's level '{parent_level}'",
    },
    # references (shared by community and flows)
    "ref.unknown": {
        "zh-hans": "{kind} '{name}' 不存在",
        "en": "unknown {kind} '{name}'",
    },
    # flows
    "flow.name_mismatch": {
        "zh-hans": "流程标识 '{name}' 与文件名 '{file}' 不一致",
        "en": "flow '{name}' does not match its file name '{file}'",
    },
    "flow.duplicate_transition": {
        "zh-hans": "流转 '{name}' 重复定义 (第一次在第 {first_line} 行)",
        "en": "transition '{name}' is defined twice (first on line {first_line})",
    },
    "flow.unreachable": {
        "zh-hans": "状态 '{state}' 从开始状态 '{start}' 无法到达",
        "en": "state '{state}' cannot be reached from the start state '{start}'",
    },
    "flow.dead_end": {
        "zh-hans": "状态 '{state}' 没有出路: 加一个从它出发的流转, 或标为 final: true",
        "en": "state '{state}' has no way out: add a transition from it, or mark it final: true",
    },
    "flow.final_has_exit": {
        "zh-hans": "最终状态 '{state}' 不能再有流出的流转 '{transition}'",
        "en": "final state '{state}' cannot have an outgoing transition '{transition}'",
    },
    "flow.no_final": {
        "zh-hans": "流程没有最终状态 (final: true)",
        "en": "the flow has no final state (final: true)",
    },
    "flow.start_final": {
        "zh-hans": "开始状态 '{state}' 不能是最终状态",
        "en": "the start state '{state}' cannot be final",
    },
    "flow.timer_no_target": {
        "zh-hans": "状态 '{state}' 设了期限 due, 但没有 on_timeout 说明到期后走哪个流转",
        "en": "state '{state}' has a due time but no on_timeout transition to take when it passes",
    },
    "flow.timeout_without_due": {
        "zh-hans": "状态 '{state}' 写了 on_timeout 但没有 due 期限",
        "en": "state '{state}' has on_timeout but no due time",
    },
    "flow.hook_not_from_state": {
        "zh-hans": "'{hook}' 指向的流转 '{transition}' 不是从状态 '{state}' 出发的",
        "en": "'{hook}' names transition '{transition}', which does not leave state '{state}'",
    },
    "flow.hook_wrong_actor": {
        "zh-hans": "'{hook}' 指向的流转 '{transition}' 应由 {expected} 执行 (by: {expected})",
        "en": "'{hook}' names transition '{transition}', which must be taken by {expected} (by: {expected})",
    },
    "flow.auto_transition_unused": {
        "zh-hans": "流转 '{transition}' 由 {actor} 执行, 但状态 '{state}' 没有相应的 {hook} 设置",
        "en": "transition '{transition}' is taken by {actor}, but state '{state}' has no {hook} naming it",
    },
    "flow.vote_no_electorate": {
        "zh-hans": "表决步骤 '{state}' 没有选民 (electorate)",
        "en": "vote step '{state}' has no electorate",
    },
    "flow.vote_option": {
        "zh-hans": "表决的通过条件用了选项 '{option}', 但选项只有: {allowed}",
        "en": "the vote threshold names option '{option}', but the options are: {allowed}",
    },
    "flow.vote_and_notice": {
        "zh-hans": "状态 '{state}' 不能同时是表决和公示",
        "en": "state '{state}' cannot be both a vote and a public notice",
    },
    "flow.countersign_nested": {
        "zh-hans": "会签 (all_of) 只能列出角色 (每一席可用 any_of 列出几种角色), 不能再嵌套会签",
        "en": "a countersign (all_of) lists roles (a seat may be any_of several roles); it cannot nest further",
    },
    "flow.scope_level": {
        "zh-hans": "scope: submitter_unit 需要写 level (在提交人所在的哪一级单位)",
        "en": "scope: submitter_unit needs a level (which unit above the submitter)",
    },
    "flow.scope_unit": {
        "zh-hans": "scope: unit 需要写 unit (哪个单位)",
        "en": "scope: unit needs a unit",
    },
    "flow.role_level": {
        "zh-hans": "角色 '{role}' 设在更高的 '{role_level}' 层级, 在 '{level}' 层级的单位内找不到它",
        "en": "role '{role}' is held at level '{role_level}', above '{level}', so no holder sits within a '{level}' unit",
    },
    "flow.fallback_itself": {
        "zh-hans": "fallback 不能是角色 '{role}' 自己: 这一角色空缺时要由另一个角色代办",
        "en": "the fallback cannot be the role '{role}' itself: it names another role that acts when this one is vacant",
    },
    "flow.refused_without_timer": {
        "zh-hans": "状态 '{state}' 写了 on_refused, 但这里没有计时器流转 (on_timeout 或公示的 on_silence)",
        "en": "state '{state}' has on_refused but no timer transition (on_timeout or a notice's on_silence)",
    },
    "flow.refused_same": {
        "zh-hans": "状态 '{state}' 的 on_refused 不能是被拒绝的同一个流转 '{transition}'",
        "en": "on_refused of state '{state}' cannot be the refused transition '{transition}' itself",
    },
    "flow.input_setting": {
        "zh-hans": "输入项 '{input}' 的类型是 {kind}, 不能设置 {setting} (只有 {expected} 类型可以)",
        "en": "input '{input}' is of type {kind} and cannot have {setting} (only type {expected} can)",
    },
    "flow.choice_without_choices": {
        "zh-hans": "输入项 '{input}' 的类型是 choice, 必须列出 choices",
        "en": "input '{input}' is of type choice and must list its choices",
    },
    "flow.input_and_form": {
        "zh-hans": "流转 '{transition}' 不能同时有 input 和 form",
        "en": "transition '{transition}' cannot have both input and form",
    },
    "flow.unknown_field": {
        "zh-hans": "字段 '{field}' 不存在 (表单 '{form}' 中没有)",
        "en": "unknown field '{field}' (not in form '{form}')",
    },
    "flow.unknown_input": {
        "zh-hans": "输入项 '{field}' 不存在: 流转 '{transition}' 没有这一输入",
        "en": "unknown input '{field}': transition '{transition}' has no such input",
    },
    "flow.assignee_never_set": {
        "zh-hans": "流转 '{transition}' 由 assignee (承办人) 执行, 但流程中没有任何 assign 动作",
        "en": "transition '{transition}' is taken by the assignee, but no action in the flow assigns anyone",
    },
    "flow.honour_person": {
        "zh-hans": "荣誉榜 '{roll}' 的来源不是本流程",
        "en": "honour roll '{roll}' does not take its entries from this flow",
    },
    "flow.choice_value": {
        "zh-hans": "'{value}' 不是字段 '{field}' 的可选值 (可选: {allowed})",
        "en": "'{value}' is not a choice of field '{field}' (choices: {allowed})",
    },
    "flow.reference_kind": {
        "zh-hans": "字段 '{field}' 应为{expected}",
        "en": "field '{field}' should be {expected}",
    },
    # guards
    "guard.syntax": {
        "zh-hans": "条件表达式第 {position} 个字符处有错误: {reason}",
        "en": "guard expression error at character {position}: {reason}",
    },
    "guard.unknown_function": {
        "zh-hans": "条件表达式中的函数 '{name}' 不存在 (可用: {allowed})",
        "en": "the guard calls '{name}', which does not exist (available: {allowed})",
    },
    "guard.unknown_name": {
        "zh-hans": "条件表达式中的字段 '{name}' 不存在",
        "en": "the guard names field '{name}', which does not exist",
    },
    "guard.type": {
        "zh-hans": "条件表达式中 {left} 与 {right} 无法比较",
        "en": "the guard compares {left} with {right}, which cannot be compared",
    },
    "guard.too_long": {
        "zh-hans": "条件表达式太长或嵌套太深",
        "en": "the guard is too long or nested too deeply",
    },
}
