/*
 * conformance_fixtures.h - the fixture provider of the conformance test
 * server (tests/conformance_server).
 *
 * The MCP conformance suite (@modelcontextprotocol/conformance, "server"
 * scenarios) calls tools, resources and prompts with fixed names
 * (test_simple_text, test://static-text, test_simple_prompt, ...) and needs
 * the server to log, report progress and ask the client for sampling and
 * elicitation while a tool runs. Those fixtures have no place in binmcpd
 * itself, so they live here, as a struct mcp_provider that the test server
 * hands to the same engine, supervisor, workers and transports the daemon
 * runs.
 *
 * Tools: test_simple_text, test_image_content, test_audio_content,
 * test_embedded_resource, test_multiple_content_types,
 * test_tool_with_logging, test_tool_with_progress, test_error_handling,
 * test_sampling, test_elicitation, test_elicitation_sep1034_defaults,
 * test_elicitation_sep1330_enums, test_dynamic_tool, test_reconnection,
 * json_schema_2020_12_tool.
 * Resources: test://static-text, test://static-binary,
 * test://watched-resource; template test://template/{id}/data.
 * Prompts: test_simple_prompt, test_prompt_with_arguments (arg1, arg2),
 * test_prompt_with_embedded_resource (resourceUri), test_prompt_with_image.
 * Completion: the arguments of test_prompt_with_arguments and the {id} of
 * the template.
 *
 * Every function of the provider is stateless and thread-safe.
 */
#ifndef BINMCPD_CONFORMANCE_FIXTURES_H
#define BINMCPD_CONFORMANCE_FIXTURES_H

#include "mcp.h"

/* serverInfo.name "binmcpd-conformance". */
extern const struct mcp_provider conformance_provider;

#endif
