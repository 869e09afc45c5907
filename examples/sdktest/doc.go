// Package sdktest holds the tests that drive sluice and llmtest with the real
// anthropic-sdk-go v2 and openai-go v3 clients. It has no API of its own: the
// SDKs are heavy, so these tests live in the nested examples module, never in
// the core module.
package sdktest
