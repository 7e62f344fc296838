/*
 * journal.h - the audit journal of order-changing calls, in SQLite.
 *
 * Every order-changing request binmcpd signs is recorded twice: an intent,
 * committed and synced to disk before the request is signed, and an outcome
 * after (accepted, rejected, refused, unknown, and later reconciled). Refused
 * attempts are recorded as an intent and its refused outcome, written
 * together. Records are only ever appended: an intent row never changes.
 *
 * The file is shared by every process of a daemon (each worker opens its own
 * connection after fork) and by stdio processes that use the same path: WAL
 * mode, synchronous=FULL, a busy timeout, and BEGIN IMMEDIATE for every write
 * so that the daily-cap check and the intent it admits are one transaction.
 * The schema (tables intents, outcomes and the view journal) is documented in
 * binmcpd.conf(5); an operator can query it with sqlite3(1). No secret is
 * ever stored: an API key appears only as its masked form and a fingerprint.
 *
 * Threads: a struct journal may be used by several threads of one process
 * (calls are serialised by a mutex inside). It must not cross a fork: open it
 * in the process that uses it.
 */
#ifndef BINMCPD_JOURNAL_H
#define BINMCPD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define JOURNAL_DAY_MS (24LL * 60 * 60 * 1000)

struct journal;

/* Opens (creating when absent, mode 0600) the journal at path and brings its
 * schema up to date. The directory must exist. Returns NULL with a sentence
 * in err (the path and SQLite's words) when it cannot be opened, is not a
 * journal, or its file is group/world-accessible. */
struct journal *journal_open(const char *path, char *err, size_t errlen);

/* Closes the connection. NULL is allowed. */
void journal_close(struct journal *j);

/* What is known of an order-changing request before it is signed. Strings
 * are borrowed for the call; NULL means unknown/not applicable. */
struct journal_intent {
    const char *key_fp;      /* fingerprint of the API key (required) */
    const char *key_masked;  /* the masked key, e.g. "vmPU...h8A" */
    const char *environment; /* "mainnet", "testnet", "demo" (required) */
    const char *session;     /* the MCP session (a short prefix) */
    const char *tool;        /* the MCP tool, e.g. "place_order" (required) */
    const char *method;      /* "POST", "DELETE", ... (required) */
    const char *path;        /* "/api/v3/order" (required) */
    const char *request;     /* the canonical parameters (required) */
    const char *symbol, *side, *type, *quantity, *price, *client_order_id;
    double notional_usdt;     /* what the order may spend; < 0: none (a
                                 cancel) */
    const char *confirmation; /* how it was confirmed: "elicitation",
                                 "token", "not required", "off" */
};

/* Appends an intent and makes it durable. When daily_cap > 0 and
 * in->notional_usdt >= 0, the same BEGIN IMMEDIATE transaction first adds up
 * what this key has committed in the 24 hours before now_ms (the notional of
 * its intents that are pending, accepted, unknown or reconciled as existing:
 * every intent except those whose outcome is rejected or refused, or whose
 * reconciliation found no order) into *spent (may be NULL), and when
 * spent + notional would exceed daily_cap it writes the intent with a refused
 * outcome (check "max_daily_notional") instead and returns 1. Returns 0 with
 * the new intent's id in *id, 1 when refused by the cap (*id is the refused
 * intent), -1 with a sentence in err when nothing could be written. */
int journal_intent(struct journal *j, const struct journal_intent *in,
                   double daily_cap, int64_t now_ms, int64_t *id, double *spent,
                   char *err, size_t errlen);

/* What the key has committed in the 24 hours before now_ms, counted as
 * journal_intent counts it (a read; the cap itself is enforced by
 * journal_intent). Returns 0 with *spent, or -1 with err. */
int journal_spent(struct journal *j, const char *key_fp, int64_t now_ms,
                  double *spent, char *err, size_t errlen);

/* An outcome. Strings are borrowed; NULL/-1 mean absent. */
struct journal_outcome {
    const char *outcome;   /* "accepted", "rejected", "refused", "unknown",
                              "reconciled" (required) */
    const char *check;     /* refused: the check that refused it, e.g.
                              "max_order_notional", "confirmation" */
    long http_status;      /* Binance's HTTP status, 0 when none */
    long code;             /* Binance's error code, 0 when none */
    const char *message;   /* Binance's msg, or the refusal's sentence */
    int64_t order_id;      /* Binance's orderId, -1 when none */
    int64_t order_list_id; /* Binance's orderListId, -1 when none */
    const char *status;    /* Binance's order status ("NEW", "FILLED", ...);
                              for reconciled: "NOT_FOUND" when Binance knows no
                              such order */
    const char *detail;    /* free text (e.g. "timeout after 10000 ms") */
};

/* Appends an outcome for intent id (durable on return). Returns 0, or -1
 * with err (no such intent, or SQLite failed). */
int journal_outcome(struct journal *j, int64_t id,
                    const struct journal_outcome *o, int64_t now_ms, char *err,
                    size_t errlen);

/* Records a refused attempt: the intent and its refused outcome (check,
 * message) in one transaction. Returns 0 (with *id when id is not NULL), or
 * -1 with err. */
int journal_refusal(struct journal *j, const struct journal_intent *in,
                    const char *check, const char *message, int64_t now_ms,
                    int64_t *id, char *err, size_t errlen);

/* Filters of journal_query. NULL/0 mean "any". */
struct journal_filter {
    const char *key_fp; /* required: a caller sees only its own key's entries */
    int64_t since_ms;   /* intents at or after this time */
    const char *symbol;
    const char *outcome; /* the latest outcome ("pending" for none) */
    int limit;           /* 1..200; 0 means 50 */
};

/* The matching entries, newest first: a new JSON array of objects with the
 * intent's fields (id, time, environment, key (masked), session, tool,
 * method, path, request, symbol, side, type, quantity, price,
 * clientOrderId, notionalUsdt, confirmation) and "outcomes": an array of its
 * outcome records in order (outcome, time, check, httpStatus, code, message,
 * orderId, orderListId, status, detail; absent fields left out), and
 * "state": the latest outcome or "pending". Returns NULL with err on
 * failure. */
json_object *journal_query(struct journal *j, const struct journal_filter *f,
                           char *err, size_t errlen);

/* An intent whose writer died before it recorded an outcome. */
struct journal_orphan {
    int64_t id;
    int64_t at_ms;
    char key_fp[65];
    char environment[16];
    char method[8];
    char path[64];
    char symbol[24];
    char client_order_id[48];
    char tool[32];
};

/* Finds intents without any outcome whose writing process is gone (the
 * journal records the writer's boot id, pid and process start time; an
 * intent of a live process, still in flight, is never taken), and in one
 * transaction claims up to max of them by appending an "unknown" outcome
 * ("the process that sent it ended before it heard the answer"), so that no
 * other process claims them too. Fills out[0..n-1]. Returns n (0 when none),
 * or -1 with err. */
int journal_claim_orphans(struct journal *j, struct journal_orphan *out,
                          int max, int64_t now_ms, char *err, size_t errlen);

#endif
