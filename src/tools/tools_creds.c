/*
 * tools_creds.c - the session credential tools (the credentials themselves
 * are kept by tools_callcreds.c). None of the tools talks to Binance:
 * they set, show (masked) and wipe the credentials held in the calling MCP
 * session (its app slot, memory only). Over stdio the session is the
 * process. A secret or private key never appears in a result; a key only
 * masked (creds_mask).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bnc.h"
#include "creds.h"
#include "tools.h"
#include "tools_call.h"
#include "tools_callcreds.h"
#include "tools_schema.h"
#include "util.h"

#define KEY_MASK_MAX  32
#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

/* Adds environment, the base URL signed calls go to, key type, masked key
 * and configuredAt of c to out. */
static void
describe_creds(const struct creds *c, json_object *out)
{
    char masked[KEY_MASK_MAX], when[40];

    creds_mask(c->key, masked, sizeof(masked));
    format_rfc3339_ms(c->since_ms, when, sizeof(when));
    json_object_object_add(out, "environment",
                           json_object_new_string(creds_env_name(c->env)));
    json_object_object_add(out, "endpoint",
                           json_object_new_string(bnc_base_url(c->env)));
    json_object_object_add(out, "keyType",
                           json_object_new_string(sign_key_type_name(c->type)));
    json_object_object_add(out, "key", json_object_new_string(masked));
    json_object_object_add(out, "configuredAt", json_object_new_string(when));
}

/* Whether the server lets trading tools run (1 when unknown). */
static int
trading_enabled(const struct mcp_call *call)
{
    return call->srv == NULL || !mcp_server_read_only(call->srv);
}

/* The sentence after storing credentials. */
static void
configured_message(const struct mcp_call *call, enum bnc_env env, char *buf,
                   size_t len)
{
    snprintf(buf, len,
             "Credentials stored in memory for this session only (never "
             "written to disk). They were not checked against Binance; call "
             "get_account_info to verify them.%s%s",
             env == BNC_ENV_MAINNET && trading_enabled(call)
                 ? " These are MAINNET credentials: place_order and "
                   "cancel_order will move real money."
             : env == BNC_ENV_DEMO
                 ? " These are demo-mode credentials: mainnet's rules and "
                   "market, simulated money."
                 : "",
             trading_enabled(call) ? ""
                                   : " This server is read-only: trading "
                                     "tools are disabled.");
}

static int
configure_credentials(struct mcp_call *call, json_object *args,
                      struct tool_result *res)
{
    const char *key = tu_arg_str(args, "api_key");
    const char *secret = tu_arg_str(args, "api_secret");
    const char *pem = tu_arg_str(args, "private_key");
    const char *env_name = tu_arg_str(args, "environment");
    char err[256], msg[400];
    enum bnc_env env;
    struct creds next;
    json_object *out;
    int rc;

    if (call == NULL || call->sess == NULL)
        return tool_fail(res, "This connection has no session to keep "
                              "credentials in.");
    if (env_name == NULL || creds_env_parse(env_name, &env) < 0)
        return tool_fail(res, "environment must be \"testnet\", "
                              "\"mainnet\" or \"demo\".");
    if ((secret == NULL) == (pem == NULL))
        return tool_fail(res,
                         "Credentials not stored: give api_secret (an HMAC "
                         "key) or private_key (the PEM of an Ed25519 or RSA "
                         "key), not %s. Earlier credentials, if any, are "
                         "unchanged.",
                         secret == NULL ? "neither" : "both");
    /* Built aside: a typo must not silently drop working credentials.
     * creds_set finds the key type; a private_key must be a PEM (text
     * before it, as certtool writes, is skipped). */
    memset(&next, 0, sizeof(next));
    if (pem != NULL && (pem = strstr(pem, "-----BEGIN ")) == NULL) {
        snprintf(err, sizeof(err),
                 "private_key is not a PEM (it has no -----BEGIN line)");
        rc = -1;
    } else if (secret != NULL &&
               creds_check_token("api_secret", secret, err, sizeof(err)) < 0) {
        rc = -1;
    } else {
        rc = creds_set(&next, key, pem != NULL ? pem : secret, env, err,
                       sizeof(err));
    }
    if (rc < 0) {
        creds_wipe(&next);
        return tool_fail(res,
                         "Credentials not stored: %s. Earlier "
                         "credentials, if any, are unchanged.",
                         err);
    }
    rc = tools_session_creds_store(call->sess, &next);
    if (rc == 0) /* its user data stream, when the daemon has a feed */
        tools_follow_key(call->srv, &next);
    creds_wipe(&next);
    if (rc < 0)
        return tool_fail(res, "out of memory: credentials not stored. "
                              "Earlier credentials, if any, are unchanged.");
    out = json_object_new_object();
    if (out == NULL)
        return tool_fail(res, "out of memory (the credentials were stored)");
    configured_message(call, env, msg, sizeof(msg));
    json_object_object_add(out, "configured", json_object_new_boolean(1));
    json_object_object_add(out, "source", json_object_new_string("session"));
    describe_creds(tools_session_creds(call->sess), out);
    json_object_object_add(out, "message", json_object_new_string(msg));
    res->data = out;
    return 0;
}

static int
get_credentials_status(struct mcp_call *call, json_object *args,
                       struct tool_result *res)
{
    struct creds buf;
    const struct creds *c = NULL;
    const char *source = "none";
    json_object *out = json_object_new_object();

    (void)args;
    if (out == NULL)
        return tool_fail(res, "out of memory");
    memset(&buf, 0, sizeof(buf));
    if (call != NULL && (c = tools_session_creds(call->sess)) != NULL) {
        source = "session";
    } else if (call != NULL && (c = tools_call_creds(call, &buf)) != NULL) {
        source = "daemon";
    }
    json_object_object_add(out, "configured",
                           json_object_new_boolean(c != NULL));
    json_object_object_add(out, "source", json_object_new_string(source));
    if (c != NULL)
        describe_creds(c, out);
    creds_wipe(&buf);
    if (call != NULL)
        json_object_object_add(out, "tradingEnabled",
                               json_object_new_boolean(trading_enabled(call)));
    json_object_object_add(
        out, "message",
        json_object_new_string(
            c == NULL ? "No credentials: market-data tools work; account and "
                        "order tools need configure_credentials first."
            : strcmp(source, "session") == 0
                ? "Signed calls use this session's credentials."
                : "Signed calls use the daemon's credentials; "
                  "configure_credentials would override them for this "
                  "session."));
    res->data = out;
    return 0;
}

static int
revoke_credentials(struct mcp_call *call, json_object *args,
                   struct tool_result *res)
{
    struct creds buf;
    int had;
    const char *fallback;
    json_object *out;

    (void)args;
    if (call == NULL || call->sess == NULL)
        return tool_fail(res, "This connection has no session credentials.");
    had = tools_session_creds_wipe(call->sess);
    fallback = tools_call_creds(call, &buf) != NULL ? "daemon" : "none";
    creds_wipe(&buf);
    out = json_object_new_object();
    if (out == NULL)
        return tool_fail(res, "out of memory (the credentials were wiped)");
    json_object_object_add(out, "revoked", json_object_new_boolean(1));
    json_object_object_add(out, "hadCredentials", json_object_new_boolean(had));
    json_object_object_add(out, "fallback", json_object_new_string(fallback));
    json_object_object_add(
        out, "message",
        json_object_new_string(
            strcmp(fallback, "daemon") == 0
                ? "Session credentials wiped from memory; signed calls now "
                  "use the daemon's credentials."
                : "Session credentials wiped from memory; signed calls are "
                  "unavailable until configure_credentials is called."));
    res->data = out;
    return 0;
}

/* clang-format off */
#define IN_TOKEN(name, desc)                                                 \
    TU_F(name, "{\"type\":\"string\",\"minLength\":1,\"maxLength\":256,"     \
               "\"description\":\"" desc "\"}")

#define STATUS_PROPS                                                         \
    TU_F("configured", TU_BOOL) ","                                          \
    TU_F("source", "{\"type\":\"string\",\"enum\":[\"session\",\"daemon\"," \
                   "\"none\"]}") ","                                         \
    TU_F("environment", "{\"type\":\"string\",\"enum\":[\"mainnet\","        \
                        "\"testnet\",\"demo\"]}") ","                        \
    TU_F("endpoint", TU_STR) ","                                             \
    TU_F("keyType", "{\"type\":\"string\",\"enum\":[\"hmac\",\"ed25519\","    \
                    "\"rsa\"]}") ","                                         \
    TU_F("key", TU_STR) "," TU_F("configuredAt", TU_STR) ","                 \
    TU_F("message", TU_STR)

const struct tool_def tools_creds[] = {
    {"configure_credentials", "Configure API credentials",
     "Stores a Binance API key with its HMAC secret (api_secret) or its "
     "Ed25519 or RSA private key (private_key, PEM text) for this MCP "
     "session only, in memory (never on disk; gone when the session ends), "
     "for the given environment: \"testnet\" (https://testnet.binance.vision, "
     "play money; recommended to start), \"demo\" "
     "(https://demo-api.binance.com, mainnet's market with simulated money) "
     "or \"mainnet\" (real money). Replaces earlier session credentials. "
     "Works offline: nothing is sent to Binance, so call get_account_info "
     "to verify the key. The secret or private key is never shown again; "
     "the key only masked.",
     TU_IN(IN_TOKEN("api_key", "Binance API key.") ","
           IN_TOKEN("api_secret", "Binance API secret (HMAC key); or give "
                                  "private_key.") ","
           TU_F("private_key",
                "{\"type\":\"string\",\"minLength\":1,\"maxLength\":"
                STRINGIFY(CREDS_SECRET_MAX) ",\"description\":\"The "
                "unencrypted PKCS#8 PEM private key (-----BEGIN PRIVATE "
                "KEY-----) of an Ed25519 or RSA API key, instead of "
                "api_secret.\"}") ","
           TU_F("environment", "{\"type\":\"string\",\"enum\":[\"testnet\","
                               "\"demo\",\"mainnet\"],\"description\":"
                               "\"Which exchange the key belongs to.\"}"),
           "\"api_key\",\"environment\""),
     TU_OBJ(STATUS_PROPS), TOOL_IDEMPOTENT | TOOL_SECRET_ARGS,
     configure_credentials, NULL},
    {"get_credentials_status", "Credentials status",
     "Says whether signed calls have credentials and where they come from: "
     "this session (configure_credentials), the daemon's configuration, or "
     "none; with the environment and the URL signed calls go to, the key "
     "type (hmac, ed25519, rsa), the masked key, when they were set and "
     "whether trading tools are enabled. No Binance call.",
     TU_IN_NONE, TU_OBJ(STATUS_PROPS "," TU_F("tradingEnabled", TU_BOOL)),
     TOOL_READ_ONLY | TOOL_IDEMPOTENT, get_credentials_status, NULL},
    {"revoke_credentials", "Revoke session credentials",
     "Wipes this session's API key and secret or private key from memory. Signed calls then "
     "fall back to the daemon's credentials if it has any (fallback says "
     "which). Safe to repeat. No Binance call.",
     TU_IN_NONE,
     TU_OBJ(TU_F("revoked", TU_BOOL) "," TU_F("hadCredentials", TU_BOOL) ","
            TU_F("fallback", "{\"type\":\"string\",\"enum\":[\"daemon\","
                             "\"none\"]}") ","
            TU_F("message", TU_STR)),
     TOOL_DESTRUCTIVE | TOOL_IDEMPOTENT, revoke_credentials, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
/* clang-format on */
