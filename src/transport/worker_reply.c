/*
 * worker_reply.c - the worker's plain HTTP replies. See worker_int.h.
 *
 * Owns no state: it answers a connection with a complete body (text, a
 * JSON error, a JSON-RPC error without id) and serves the documents that
 * need no session: /health, / and /metrics. Every reply names the worker
 * in X-Binmcpd-Worker. Each function returns what MHD_queue_response()
 * returns, MHD_NO when the response cannot be made (MHD then closes the
 * connection).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "util.h"
#include "worker_int.h"

/* Adds X-Binmcpd-Worker: the worker's index. */
void
reply_worker_header(const struct worker *w, struct MHD_Response *r)
{
    char wid[16];
    snprintf(wid, sizeof(wid), "%d", w->env->index);
    MHD_add_response_header(r, "X-Binmcpd-Worker", wid);
}

/* Answers with text (copied), not cached, with an optional Content-Type
 * and one optional extra header. */
enum MHD_Result
reply_text(const struct worker *w, struct MHD_Connection *c, unsigned status,
           const char *ctype, const char *text, const char *hname,
           const char *hvalue)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(r, "Content-Type", ctype);
    reply_worker_header(w, r);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (hname != NULL)
        MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* {"error":code,"message":message} */
enum MHD_Result
reply_error(const struct worker *w, struct MHD_Connection *c, unsigned status,
            const char *code, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(code));
    json_object_object_add(o, "message", json_object_new_string(message));
    enum MHD_Result ret = reply_text(
        w, c, status, "application/json",
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), NULL, NULL);
    json_object_put(o);
    return ret;
}

/* A JSON-RPC error without id, for Streamable HTTP transport errors. */
enum MHD_Result
reply_rpc_error(const struct worker *w, struct MHD_Connection *c,
                unsigned status, int code, const char *message,
                const char *hname, const char *hvalue)
{
    json_object *o = json_object_new_object();
    json_object *e = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "id", NULL);
    json_object_object_add(e, "code", json_object_new_int(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_object_add(o, "error", e);
    enum MHD_Result ret =
        reply_text(w, c, status, "application/json",
                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                   hname, hvalue);
    json_object_put(o);
    return ret;
}

/* GET /health: the registry's figures and the daemon's counters, for
 * monitoring. */
enum MHD_Result
reply_health(const struct worker *w, struct MHD_Connection *c)
{
    struct registry *reg = w->env->reg;
    char text[640];
    snprintf(text, sizeof(text),
             "{\"status\":\"ok\",\"version\":\"%s\",\"workers\":%u,"
             "\"workers_alive\":%u,\"sessions\":%u,\"max_sessions\":%u,"
             "\"streams\":%u,\"max_streams\":%u,"
             "\"sessions_total\":%llu,\"sessions_evicted\":%llu,"
             "\"connections_rejected\":%llu,"
             "\"worker_restarts\":%llu,\"uptime_s\":%lld}",
             PACKAGE_VERSION, reg_workers(reg), reg_workers_alive(reg),
             reg_live(reg), reg_max_live(reg), reg_streams(reg),
             reg_max_streams(reg), (unsigned long long)reg_sessions_total(reg),
             (unsigned long long)(reg_evictions(reg, REG_EVICT_FULL) +
                                  reg_evictions(reg, REG_EVICT_CLIENT)),
             (unsigned long long)metrics_capacity_rejections(w->env->metrics),
             (unsigned long long)metrics_restarts(w->env->metrics),
             (long long)((now_ms() - reg_started_ms(reg)) / 1000));
    return reply_text(w, c, 200, "application/json", text, NULL, NULL);
}

/* GET /metrics: Prometheus text, or 404 when metrics are off. */
enum MHD_Result
reply_metrics(const struct worker *w, struct MHD_Connection *c)
{
    struct dbuf o;
    enum MHD_Result ret;

    if (w->env->metrics == NULL)
        return reply_error(w, c, 404, "not_found", "metrics are off");
    dbuf_init(&o, 4u << 20);
    if (metrics_render(w->env->metrics, w->env->reg, &o) < 0)
        ret = reply_error(w, c, 500, "internal", "cannot render the metrics");
    else
        ret = reply_text(w, c, 200, METRICS_CONTENT_TYPE, dbuf_str(&o), NULL,
                         NULL);
    dbuf_free(&o);
    return ret;
}

/* GET /: what this server is and where its endpoints are. */
enum MHD_Result
reply_root(const struct worker *w, struct MHD_Connection *c)
{
    char text[768], versions[192];
    snprintf(text, sizeof(text),
             "{\"name\":\"binmcpd\",\"version\":\"%s\",\"description\":"
             "\"MCP server for the Binance Spot API\",\"transports\":{"
             "\"sse\":\"/mcp/sse\",\"message\":\"/mcp/message\","
             "\"streamable_http\":\"/mcp\"},\"health\":\"/health\","
             "\"protocolVersions\":[%s]}",
             PACKAGE_VERSION,
             mcp_versions_join(versions, sizeof(versions), "\"", ","));
    return reply_text(w, c, 200, "application/json", text, NULL, NULL);
}
