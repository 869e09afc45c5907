package usage

// This file is the one place that knows where the providers put usage in
// their response bodies (../shared/reference/providers.md §4):
//
//	Anthropic JSON            $.usage.{input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens}
//	                          $.usage.output_tokens_details.thinking_tokens
//	Anthropic message_start   $.message.usage.* and $.message.model
//	Anthropic message_delta   $.usage.* (cumulative: the last value wins)
//	OpenAI chat (JSON, SSE)   $.usage.{prompt_tokens, completion_tokens}
//	                          $.usage.prompt_tokens_details.{cached_tokens, cache_write_tokens}
//	                          $.usage.completion_tokens_details.reasoning_tokens
//	OpenAI Responses          $.usage.{input_tokens, output_tokens}, $.usage.input_tokens_details.*,
//	                          $.usage.output_tokens_details.reasoning_tokens;
//	                          in a stream, the same under $.response (response.completed)
//	errors                    $.error.type (Anthropic, OpenAI), $.response.error.code (response.failed)
//
// Paths are matched exactly, so a tool_use input or a completion that
// happens to contain a "usage" object deeper in the document is ignored.

// keyID names the object keys the scanner distinguishes; every other key is
// keyOther.
type keyID uint8

const (
	keyNone keyID = iota // array element, or no key read yet
	keyOther
	keyUsage
	keyMessage
	keyResponse
	keyModel
	keyError
	keyType
	keyCode
	keyInputTokens
	keyOutputTokens
	keyPromptTokens
	keyCompletionTokens
	keyCacheCreationInputTokens
	keyCacheReadInputTokens
	keyPromptTokensDetails
	keyCompletionTokensDetails
	keyInputTokensDetails
	keyOutputTokensDetails
	keyCachedTokens
	keyCacheWriteTokens
	keyReasoningTokens
	keyThinkingTokens
)

// lookupKey maps a raw key to its keyID. The switch on string(b) does not
// allocate.
func lookupKey(b []byte) keyID {
	switch string(b) {
	case "usage":
		return keyUsage
	case "message":
		return keyMessage
	case "response":
		return keyResponse
	case "model":
		return keyModel
	case "error":
		return keyError
	case "type":
		return keyType
	case "code":
		return keyCode
	case "input_tokens":
		return keyInputTokens
	case "output_tokens":
		return keyOutputTokens
	case "prompt_tokens":
		return keyPromptTokens
	case "completion_tokens":
		return keyCompletionTokens
	case "cache_creation_input_tokens":
		return keyCacheCreationInputTokens
	case "cache_read_input_tokens":
		return keyCacheReadInputTokens
	case "prompt_tokens_details":
		return keyPromptTokensDetails
	case "completion_tokens_details":
		return keyCompletionTokensDetails
	case "input_tokens_details":
		return keyInputTokensDetails
	case "output_tokens_details":
		return keyOutputTokensDetails
	case "cached_tokens":
		return keyCachedTokens
	case "cache_write_tokens":
		return keyCacheWriteTokens
	case "reasoning_tokens":
		return keyReasoningTokens
	case "thinking_tokens":
		return keyThinkingTokens
	}
	return keyOther
}

// field is a token count the scanner stages.
type field uint8

const (
	fieldNone field = iota
	fieldInput
	fieldOutput
	fieldCacheCreation
	fieldCacheRead
	fieldReasoning
	nFields
)

// target is what a string value at a path is captured as.
type target uint8

const (
	targetSkip target = iota
	targetKey
	targetModel
	targetError
)

// wrapper reports whether k is a key under which a whole response object is
// nested: message_start's "message", response.completed's "response".
func wrapper(k keyID) bool { return k == keyMessage || k == keyResponse }

// usageField maps a key directly inside a usage object to its field.
func usageField(k keyID) field {
	switch k {
	case keyInputTokens, keyPromptTokens:
		return fieldInput
	case keyOutputTokens, keyCompletionTokens:
		return fieldOutput
	case keyCacheCreationInputTokens:
		return fieldCacheCreation
	case keyCacheReadInputTokens:
		return fieldCacheRead
	}
	return fieldNone
}

// detailField maps a key inside a usage.*_details object to its field.
func detailField(parent, k keyID) field {
	switch parent {
	case keyPromptTokensDetails, keyInputTokensDetails:
		switch k {
		case keyCachedTokens:
			return fieldCacheRead
		case keyCacheWriteTokens:
			return fieldCacheCreation
		}
	case keyCompletionTokensDetails, keyOutputTokensDetails:
		if k == keyReasoningTokens || k == keyThinkingTokens {
			return fieldReasoning
		}
	}
	return fieldNone
}

// numberField returns the field a number at path keys[1..depth] sets.
func numberField(keys *[maxPath + 1]keyID, depth int) field {
	switch depth {
	case 2:
		if keys[1] == keyUsage {
			return usageField(keys[2])
		}
	case 3:
		if wrapper(keys[1]) && keys[2] == keyUsage {
			return usageField(keys[3])
		}
		if keys[1] == keyUsage {
			return detailField(keys[2], keys[3])
		}
	case 4:
		if wrapper(keys[1]) && keys[2] == keyUsage {
			return detailField(keys[3], keys[4])
		}
	}
	return fieldNone
}

// stringTarget returns what a string at path keys[1..depth] is captured as.
func stringTarget(keys *[maxPath + 1]keyID, depth int) target {
	switch depth {
	case 1:
		if keys[1] == keyModel {
			return targetModel
		}
	case 2:
		if wrapper(keys[1]) && keys[2] == keyModel {
			return targetModel
		}
		if keys[1] == keyError && keys[2] == keyType {
			return targetError
		}
	case 3:
		if keys[1] == keyResponse && keys[2] == keyError && keys[3] == keyCode {
			return targetError
		}
	}
	return targetSkip
}

// Event names (Anthropic and OpenAI Responses streams name their events;
// OpenAI chat streams do not). Only these events can carry usage, a model or
// an error; the data of every other named event is skipped unparsed, which
// keeps content deltas — nearly all of a stream — cheap.
func eventRelevant(name []byte) bool {
	if len(name) == 0 || (name[0] != 'm' && name[0] != 'e' && name[0] != 'r') {
		return false // content_block_delta, ping, …: no string compares
	}
	switch string(name) {
	case "message_start", "message_delta", "error",
		"response.created", "response.completed", "response.incomplete", "response.failed":
		return true
	}
	return false
}

// eventTerminal reports whether a named event ends its stream normally.
func eventTerminal(name []byte) bool {
	if len(name) == 0 || (name[0] != 'm' && name[0] != 'e' && name[0] != 'r') {
		return false
	}
	switch string(name) {
	case "message_stop", "error",
		"response.completed", "response.incomplete", "response.failed":
		return true
	}
	return false
}
