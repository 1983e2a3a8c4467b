// One line per event saying what happened, for the event list: the prompt for a prompt, the tool
// and what it works on for tool events, the reason for stops, the message for notifications.
// Pure: reads only the canonical event (docs/user-guide.md §The event model) and its `data`.

/** The longest summary kept; the list shows one line, the detail pane has the whole event. */
export const MAX_SUMMARY = 300;

/** The event's Claude Code hook name (`PreToolUse`), or its subtype for other events. */
export function hookName(event) {
  return event.hook_event_name || stringField(event.data, "hook_event_name") || event.subtype || "event";
}

/** What kind of thing the event is, for colour and filtering at a glance. */
export function kindOf(event) {
  const name = hookName(event);
  if (name === "UserPromptSubmit") return "prompt";
  if (name === "PostToolUseFailure") return "failure";
  if (name === "Notification" || name === "PermissionRequest") return "attention";
  if (/Tool/.test(name) || (event.tool_name && !/Stop|Start|End/.test(name))) return "tool";
  if (/Stop|End/.test(name)) return "stop";
  if (/Start/.test(name)) return "start";
  return "other";
}

/** A one-line description of `event`, at most MAX_SUMMARY characters. */
export function summarize(event) {
  return oneLine(describe(event));
}

function describe(event) {
  const data = isObject(event.data) ? event.data : {};
  const name = hookName(event);
  const tool = event.tool_name || stringField(data, "tool_name");
  const agent = event.agent_type || stringField(data, "agent_type");
  switch (name) {
    case "UserPromptSubmit":
      return stringField(data, "prompt") ?? "(empty prompt)";
    case "PreToolUse":
    case "PostToolUse":
      return toolLine(tool, data.tool_input);
    case "PostToolUseFailure":
      return joined(toolLine(tool, data.tool_input), "→", errorText(data.error));
    case "PermissionRequest":
      return `asks to use ${toolLine(tool, data.tool_input)}`;
    case "Notification":
      return stringField(data, "message") ?? stringField(data, "title") ?? "notification";
    case "SessionStart":
      return joined("session started", parenthesised(stringField(data, "source")));
    case "SessionEnd":
      return joined("session ended", reasonOf(data));
    case "Stop":
      return joined("stopped", reasonOf(data));
    case "SubagentStart":
      return joined(agent ?? "sub-agent", "started");
    case "SubagentStop":
      return joined(agent ?? "sub-agent", "finished", reasonOf(data));
    case "PreCompact":
      return joined("compacting", stringField(data, "trigger"), stringField(data, "custom_instructions"));
    default:
      return unknownLine(name, tool, data);
  }
}

/** `Bash ls -la`, `Read /src/main.rs`, `Grep TODO in src/`: the tool and what it works on. */
function toolLine(tool, input) {
  return joined(tool ?? "tool", toolTarget(input));
}

/** The part of a tool's input a human recognises it by, or null. */
function toolTarget(input) {
  if (!isObject(input)) return typeof input === "string" ? input : null;
  for (const key of ["command", "file_path", "notebook_path"]) {
    const value = stringField(input, key);
    if (value) return value;
  }
  const pattern = stringField(input, "pattern");
  if (pattern) return joined(pattern, input.path ? "in" : null, stringField(input, "path"));
  for (const key of ["url", "query", "description", "prompt"]) {
    const value = stringField(input, key);
    if (value) return value;
  }
  return firstString(input);
}

function reasonOf(data) {
  return stringField(data, "reason") ?? stringField(data, "stop_reason");
}

function errorText(error) {
  if (typeof error === "string") return error;
  if (isObject(error)) return stringField(error, "message") ?? JSON.stringify(error);
  return "failed";
}

/** A hook nobody has taught us: its name and the first field that reads like a description. */
function unknownLine(name, tool, data) {
  for (const key of ["message", "reason", "prompt", "title", "text", "description", "status"]) {
    const value = stringField(data, key);
    if (value) return joined(name, tool, value);
  }
  if (tool) return joined(name, toolLine(tool, data.tool_input));
  return name;
}

function firstString(object) {
  for (const value of Object.values(object)) {
    if (typeof value === "string" && value.trim()) return value;
  }
  return null;
}

function stringField(object, key) {
  if (!isObject(object)) return null;
  const value = object[key];
  if (typeof value === "string" && value.trim()) return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** `(startup)`, or null for no text. */
function parenthesised(text) {
  return text ? `(${text})` : null;
}

function joined(...parts) {
  return parts.filter((part) => part !== null && part !== undefined && part !== "").join(" ");
}

function oneLine(text) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
