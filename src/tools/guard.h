/*
 * guard.h - the trading guard: the one write path of every order-changing
 * call, between the tools and the Binance client.
 *
 * The guard is the trading gate of bnc.h: bnc_call hands it every BNC_TRADE
 * request just before signing, and sends nothing it refuses. So no tool,
 * present or future, can place, cancel or change an order around it, and
 * no argument, prompt or session can switch a check off; only the
 * operator's settings (struct trading_settings) can. For each request, in
 * this order:
 *   1. it recognises the request (a Binance path it has a rule for; any
 *      other order-changing path is refused: fail closed);
 *   2. allowed_symbols / denied_symbols;
 *   3. for a new order: mainnet needs max_order_notional; the order's value
 *      in USDT (price x quantity, quoteOrderQty, or the walk of the live
 *      book for a MARKET order; other quote assets through their USDT
 *      average price) must be known and within max_order_notional, within
 *      what is left of max_daily_notional, and the symbol must have fewer
 *      than max_open_orders open orders;
 *   4. the human's confirmation (order_confirmation, confirm_on): a
 *      form-mode elicitation through the calling session's client, or a
 *      single-use token (confirm.h) that a second identical call redeems;
 *   5. the intent is written to the journal (journal.h), durable before the
 *      request is signed, with the daily cap re-checked in the same
 *      transaction;
 * then the request is sent once, and its outcome is journaled: accepted,
 * rejected, or unknown, in which case one read (GET /api/v3/order by the
 * client order id) learns the order's real state, and is journaled too.
 * A refused request is journaled as a refusal naming the check.
 *
 * Process model: guard_init runs once before the daemon forks (the rules
 * and the token store live in shared memory, so that SIGHUP's new rules and
 * a token issued by one worker reach every worker); guard_open runs in each
 * process that trades (a worker after fork, the stdio server), opens that
 * process's journal connection and installs the gate.
 */
#ifndef BINMCPD_GUARD_H
#define BINMCPD_GUARD_H

#include <stddef.h>

#include <json-c/json.h>

#include "bnc.h"
#include "creds.h"
#include "journal.h"
#include "mcp.h"
#include "trading.h"

/* Creates the shared rules and token store from t. Call once, before any
 * fork and before threads start. Returns 0, or -1 with a sentence in err. */
int guard_init(const struct trading_settings *t, char *err, size_t errlen);

/* Replaces the rules (SIGHUP). Every process uses them from its next order
 * on. t->journal is not applied (the journal is opened at start). */
void guard_set_rules(const struct trading_settings *t);

/* In the process that trades: opens the journal named by the rules
 * (creating its directory, mode 0700, when absent), installs the trading
 * gate, and settles intents whose writer died: each is reported and, when
 * its key is daemon_creds' (may be NULL), reconciled with one read.
 * Returns 0, or -1 with a sentence in err when the journal cannot be
 * opened; the gate is installed all the same and then refuses every
 * order ("the audit journal is not available"). */
int guard_open(const struct creds *daemon_creds, char *err, size_t errlen);

/* Closes the journal and removes the gate (no order can be sent after). */
void guard_close(void);

/* The journal entries of the key of cr (get_audit_log), as journal_query
 * describes them. f->key_fp is filled in here. Returns NULL with err when
 * there is no journal or the query fails. */
json_object *guard_audit_log(const struct creds *cr, struct journal_filter *f,
                             char *err, size_t errlen);

/* What the guard would do with req (a BNC_TRADE request that is NOT sent;
 * req->creds must be set): runs the same checks as for a real call, reading
 * what they read (the book, average prices, open orders, the journal), but
 * asks nobody, writes nothing and sends no order. Returns a new object:
 * wouldBeSent, refusedBy and reason (when refused), environment, notional,
 * quoteAsset, notionalUsdt and valuedFrom (when valued), limits (the
 * operator's, with committedToday/leftToday), confirmation (how it would be
 * confirmed: elicitation, token, not required, off); NULL when out of
 * memory or the guard is not set up. */
json_object *guard_preview(struct mcp_call *call,
                           const struct bnc_request *req);

/* The operator's trading rules in force and, for the key of cr (may be
 * NULL), what it committed in the last 24 hours: a new object for
 * get_safety_status (orderConfirmation, confirmOn,
 * confirmationTimeoutSeconds, maxOrderNotional, maxDailyNotional,
 * allowedSymbols, deniedSymbols, maxOpenOrders, journalAvailable,
 * committedToday, leftToday). NULL when the guard is not set up. */
json_object *guard_status(const struct creds *cr);

/* The fingerprint the journal records for an API key: the first 16 hex
 * digits of SHA-256(key). out must hold 17 bytes. Returns 0 or -1. */
int guard_key_fingerprint(const char *key, char *out, size_t len);

#endif
