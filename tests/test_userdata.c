/*
 * test_userdata.c - the user data streams (src/binance/userdata.c) against
 * the fake exchange's WebSocket API, seen through the user-data area
 * (userstate.h) as a worker sees it: a key subscribes and is snapshotted
 * through the budget hooks; orders placed, filled and cancelled at the fake
 * appear in and leave the record, balances follow, the generations grow; a
 * wrong signature and an unknown key give the key's error with Binance's
 * code; a forced disconnect reconnects, resubscribes and re-snapshots; a
 * removed key is unsubscribed at the fake and its record emptied. The
 * module runs on this program's loop (ud_step); every wait is bounded; the
 * fake exchange is stopped by its PID.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "bnc.h"
#include "creds.h"
#include "market.h"
#include "testlib.h"
#include "userdata.h"
#include "userstate.h"
#include "util.h"
#include "wstest.h"

#define WAIT_MS 10000 /* the bound on each wait below */

#define ED_KEY "EdKeyForTheUserDataTest00000000000000000000000000000000000000E"

static struct fakex fx;
static char base[64];
/* a second fake whose one account has an Ed25519 key (ED_KEY, ed_pem):
 * the creds' testnet */
static struct fakex fx_ed;
static char base_ed[64];
static char ed_pem[1024], ed_other_pem[1024]; /* private keys, PKCS#8 */
static char ed_pub_path[300];
static struct userstate *area;
static struct us_record rec; /* the last us_read */
static long snapshot_calls;  /* openOrders + account through the hooks */
static int hold_snapshots;   /* the hook holds openOrders back */

/* The budget hook as compose.c installs it: here it counts the
 * snapshot's calls, and holds openOrders back while hold_snapshots is
 * set (as a spent budget does). */
static int
count_calls(void *arg, const char *method, const char *path, const char *query,
            long *wait_ms)
{
    (void)arg;
    (void)method;
    (void)query;
    if (hold_snapshots && strcmp(path, "/api/v3/openOrders") == 0) {
        *wait_ms = 300;
        return -1;
    }
    if (strcmp(path, "/api/v3/openOrders") == 0 ||
        strcmp(path, "/api/v3/account") == 0)
        snapshot_calls++;
    return 0;
}

/* The tests place and cancel orders with bnc_call: a gate that lets every
 * trade go. */
static int
admit_all(void *arg, const struct bnc_request *req, enum bnc_env env,
          void **ticket, struct bnc_response *resp)
{
    (void)arg;
    (void)req;
    (void)env;
    (void)resp;
    *ticket = NULL;
    return 0;
}

static void
settle_none(void *arg, const struct bnc_request *req, void *ticket,
            struct bnc_response *resp)
{
    (void)arg;
    (void)req;
    (void)ticket;
    (void)resp;
}

/* A fresh Ed25519 key: its private PEM into pem, and, when pub_path is
 * not NULL, its public PEM written there. Returns 0 or -1. */
static int
make_ed25519(char *pem, size_t len, const char *pub_path)
{
    gnutls_privkey_t key = NULL;
    gnutls_x509_privkey_t x = NULL;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t d = {NULL, 0};
    FILE *f;
    int rc = -1;

    if (gnutls_privkey_init(&key) < 0 ||
        gnutls_privkey_generate2(key, GNUTLS_PK_EDDSA_ED25519, 256, 0, NULL,
                                 0) < 0 ||
        gnutls_privkey_export_x509(key, &x) < 0 ||
        gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL,
                                          GNUTLS_PKCS_PLAIN, &d) < 0 ||
        d.size >= len)
        goto out;
    memcpy(pem, d.data, d.size);
    pem[d.size] = '\0';
    gnutls_free(d.data);
    d.data = NULL;
    if (pub_path != NULL) {
        if (gnutls_pubkey_init(&pub) < 0 ||
            gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0 ||
            gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &d) < 0 ||
            (f = fopen(pub_path, "w")) == NULL)
            goto out;
        fwrite(d.data, 1, d.size, f);
        if (fclose(f) != 0)
            goto out;
    }
    rc = 0;
out:
    gnutls_free(d.data);
    gnutls_pubkey_deinit(pub);
    gnutls_x509_privkey_deinit(x);
    gnutls_privkey_deinit(key);
    return rc;
}

/* The Ed25519 fake: its account's key made here. */
static int
start_ed_fake(void)
{
    char arg[400];
    const char *args[] = {"--key-ed25519", arg, NULL};

    snprintf(ed_pub_path, sizeof(ed_pub_path), "%s/test_userdata.%d.pub",
             getenv("TESTS_BUILDDIR") ? getenv("TESTS_BUILDDIR") : "/tmp",
             (int)getpid());
    if (make_ed25519(ed_pem, sizeof(ed_pem), ed_pub_path) < 0 ||
        make_ed25519(ed_other_pem, sizeof(ed_other_pem), NULL) < 0)
        return -1;
    snprintf(arg, sizeof(arg), "%s=%s", ED_KEY, ed_pub_path);
    if (fakex_start(&fx_ed, args) < 0)
        return -1;
    return wstest_base(&fx_ed, base_ed, sizeof(base_ed));
}

static int
suite_init(void)
{
    struct bnc_config bc;
    struct bnc_hooks hooks = {count_calls, NULL, NULL};
    struct bnc_trade_gate gate = {admit_all, settle_none, NULL};
    char err[256];

    if (wstest_start(&fx, base, sizeof(base)) < 0 || start_ed_fake() < 0 ||
        (area = us_create(4, err, sizeof(err))) == NULL)
        return -1;
    bnc_config_defaults(&bc);
    snprintf(bc.mainnet_url, sizeof(bc.mainnet_url), "%s", fx.url);
    snprintf(bc.testnet_url, sizeof(bc.testnet_url), "%s", fx_ed.url);
    bc.timeout_ms = 5000;
    if (bnc_init(&bc) < 0)
        return -1;
    bnc_set_hooks(&hooks);
    bnc_set_trade_gate(&gate);
    return 0;
}

static int
suite_clean(void)
{
    bnc_set_trade_gate(NULL);
    bnc_set_hooks(NULL);
    us_destroy(area);
    fakex_stop(&fx);
    fakex_stop(&fx_ed);
    unlink(ed_pub_path);
    secure_wipe(ed_pem, sizeof(ed_pem));
    secure_wipe(ed_other_pem, sizeof(ed_other_pem));
    bnc_thread_cleanup();
    return 0;
}

/* A module for the WebSocket API of the fake at ws_base, with short
 * backoffs. */
static int64_t next_max_age_ms; /* for the next new_userdata_at, 0: default */

static struct userdata *
new_userdata_at(const char *ws_base)
{
    struct ud_config c;
    char err[256];
    struct userdata *u;

    ud_config_defaults(&c);
    snprintf(c.ws_api_url, sizeof(c.ws_api_url), "%s/ws-api/v3", ws_base);
    c.state = area;
    c.backoff_min_ms = 100;
    c.backoff_max_ms = 400;
    c.answer_timeout_ms = 5000;
    if (next_max_age_ms > 0)
        c.max_conn_age_ms = next_max_age_ms;
    u = ud_new(&c, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    return u;
}

static struct userdata *
new_userdata(void)
{
    return new_userdata_at(base);
}

/* Follows key/secret on env; returns its slot (fingerprint into fp). */
static int
add_key_on(struct userdata *u, const char *key, const char *secret,
           enum bnc_env env, char fp[US_FP_LEN + 1])
{
    struct creds c;
    char err[256];
    int slot;

    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(creds_set(&c, key, secret, env, err, sizeof(err)) == 0);
    slot = ud_add_key(u, &c, fp, err, sizeof(err));
    creds_wipe(&c);
    CU_ASSERT_FATAL(slot >= 0);
    return slot;
}

static int
add_key(struct userdata *u, const char *key, const char *secret,
        char fp[US_FP_LEN + 1])
{
    return add_key_on(u, key, secret, BNC_ENV_MAINNET, fp);
}

/* Steps u until done(slot) holds on a fresh copy of the slot's record (in
 * rec), or WAIT_MS passes. */
static bool
pump_until(struct userdata *u, int slot, bool (*done)(int))
{
    int64_t end = tl_now_ms() + WAIT_MS;

    do {
        CU_ASSERT_FATAL(ud_step(u, 20) == 0);
        if (us_read(area, slot, &rec) == 0 && done(slot))
            return true;
    } while (tl_now_ms() < end);
    return false;
}

static bool
is_live(int slot)
{
    (void)slot;
    return rec.status == US_LIVE;
}

static bool
is_failed(int slot)
{
    (void)slot;
    return rec.status == US_FAILED;
}

static int64_t want_order = -1; /* for has_order / lacks_order */

static const struct us_order *
find_order(int64_t id)
{
    for (uint32_t i = 0; i < rec.norders; i++)
        if (rec.orders[i].order_id == id)
            return &rec.orders[i];
    return NULL;
}

static bool
has_order(int slot)
{
    (void)slot;
    return find_order(want_order) != NULL;
}

static bool
lacks_order(int slot)
{
    (void)slot;
    return find_order(want_order) == NULL;
}

static const struct us_balance *
find_balance(const char *asset)
{
    for (uint32_t i = 0; i < rec.nbalances; i++)
        if (strcmp(rec.balances[i].asset, asset) == 0)
            return &rec.balances[i];
    return NULL;
}

static int64_t
free_of(const char *asset)
{
    const struct us_balance *b = find_balance(asset);
    return b != NULL ? b->free : 0;
}

static int64_t
locked_of(const char *asset)
{
    const struct us_balance *b = find_balance(asset);
    return b != NULL ? b->locked : 0;
}

/* A signed request for account A through bnc_call; returns the integer
 * at id_path in the answer (-1 when it failed). */
static int64_t
trade_a_at(const char *method, const char *path, const char *const *kv,
           const char *id_path)
{
    struct creds c;
    struct bnc_params p;
    struct bnc_response resp;
    struct bnc_request req = {0};
    char err[256];
    int64_t id = -1;

    memset(&c, 0, sizeof(c));
    CU_ASSERT_FATAL(creds_set(&c, TEST_KEY_A, TEST_SECRET_A, BNC_ENV_MAINNET,
                              err, sizeof(err)) == 0);
    bnc_params_init(&p);
    for (; kv[0] != NULL; kv += 2)
        bnc_params_add(&p, kv[0], kv[1]);
    req.method = method;
    req.path = path;
    req.params = &p;
    req.kind = BNC_TRADE;
    req.creds = &c;
    if (bnc_call(&req, &resp) == 0)
        id = tl_int_at(resp.body, id_path);
    else
        printf("\n  %s %s: %s %d %s\n", method, path,
               bnc_status_name(resp.status), resp.api_code, resp.api_msg);
    bnc_response_free(&resp);
    creds_wipe(&c);
    return id;
}

/* The same, returning the orderId. */
static int64_t
trade_a(const char *method, const char *path, const char *const *kv)
{
    return trade_a_at(method, path, kv, "orderId");
}

/* A deposit (or, with "-", a withdrawal) of asset on account A at the
 * fake. Returns the free balance it leaves, in units of 10^-8; -1 when the
 * fake refused. */
static int64_t
fake_deposit(const char *asset, const char *delta)
{
    char path[128], body[256];
    json_object *o;
    int64_t free_units = -1;

    snprintf(path, sizeof(path), "/__fake/balance?asset=%s&delta=%s", asset,
             delta);
    if (fakex_http(&fx, "POST", path, body, sizeof(body)) != 200)
        return -1;
    o = json_tokener_parse(body);
    if (market_parse(tl_str_at(o, "free"), &free_units) < 0)
        free_units = -1;
    json_object_put(o);
    return free_units;
}

/* The user data subscriptions the fake holds (every connection). */
static int64_t
fake_subscriptions(void)
{
    json_object *o = wstest_info(&fx, "");
    int64_t n = tl_int_at(o, "userDataSubscriptions");

    json_object_put(o);
    return n;
}

static int64_t want_subs; /* for fake_holds */

/* Whether the fake holds want_subs subscriptions (closed connections'
 * are dropped as the fake notices them). */
static bool
fake_holds(int slot)
{
    (void)slot;
    return fake_subscriptions() == want_subs;
}

/* Places a resting LIMIT GTC order for account A and waits until it is in
 * the record (rec). Returns its orderId. */
static int64_t
place_limit(struct userdata *u, int slot, const char *symbol, const char *side,
            const char *qty, const char *price)
{
    int64_t id =
        trade_a("POST", "/api/v3/order",
                (const char *const[]){"symbol", symbol, "side", side, "type",
                                      "LIMIT", "timeInForce", "GTC", "quantity",
                                      qty, "price", price, NULL});

    CU_ASSERT_FATAL(id >= 0);
    want_order = id;
    CU_ASSERT_FATAL(pump_until(u, slot, has_order));
    return id;
}

/* Lets the events that follow an order's (the balances') arrive, then
 * reads the record into rec. */
static void
settle_events(struct userdata *u, int slot)
{
    tl_sleep_ms(100);
    CU_ASSERT(ud_step(u, 20) == 0);
    CU_ASSERT_EQUAL(us_read(area, slot, &rec), 0);
}

static int64_t want_free; /* for usdt_is */
static int64_t want_list; /* for list_has_two / list_is_gone */

static bool
usdt_is(int slot)
{
    (void)slot;
    return free_of("USDT") == want_free;
}

static unsigned
list_legs(void)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < rec.norders; i++)
        n += rec.orders[i].order_list_id == want_list;
    return n;
}

static bool
list_has_two(int slot)
{
    (void)slot;
    return list_legs() == 2;
}

static bool
list_is_gone(int slot)
{
    (void)slot;
    return list_legs() == 0;
}

/* ---- tests ---- */

static void
test_follows_orders_and_balances(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1], path[128];
    const struct us_order *o;
    int64_t usdt_free, btc_free, id;
    uint64_t gen, ogen, bgen;
    long calls = snapshot_calls;
    int slot;

    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);
    CU_ASSERT_EQUAL(strlen(fp), US_FP_LEN);
    CU_ASSERT_EQUAL(us_find(area, fp), slot);
    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    CU_ASSERT_STRING_EQUAL(rec.fp, fp);
    CU_ASSERT_EQUAL(rec.connected, 1);
    CU_ASSERT_EQUAL(rec.snapshots, 1);
    CU_ASSERT_EQUAL(rec.subscribes, 1);
    CU_ASSERT_EQUAL(snapshot_calls - calls, 2); /* counted by the hooks */
    CU_ASSERT_EQUAL(rec.norders, 0);
    CU_ASSERT(rec.nbalances > 0);
    CU_ASSERT(strstr(rec.key_masked, "...") != NULL);
    usdt_free = free_of("USDT");
    btc_free = free_of("BTC");
    CU_ASSERT(usdt_free > 0);
    gen = rec.generation;
    ogen = rec.orders_gen;
    bgen = rec.balances_gen;

    /* a resting buy: it appears, its quote is locked */
    id = place_limit(u, slot, "BTCUSDT", "BUY", "0.01", "40000");
    o = find_order(id);
    CU_ASSERT_STRING_EQUAL(o->symbol, "BTCUSDT");
    CU_ASSERT_STRING_EQUAL(o->side, "BUY");
    CU_ASSERT_STRING_EQUAL(o->status, "NEW");
    CU_ASSERT_STRING_EQUAL(o->type, "LIMIT");
    CU_ASSERT_STRING_EQUAL(o->time_in_force, "GTC");
    CU_ASSERT(o->client_order_id[0] != '\0');
    CU_ASSERT(o->time_ms > 0);
    CU_ASSERT_EQUAL(o->price, 40000 * MARKET_UNIT);
    CU_ASSERT_EQUAL(o->orig_qty, MARKET_UNIT / 100);
    CU_ASSERT(rec.generation > gen);
    CU_ASSERT(rec.orders_gen > ogen);
    /* the outboundAccountPosition follows the executionReport */
    settle_events(u, slot);
    CU_ASSERT_EQUAL(locked_of("USDT"), 400 * MARKET_UNIT);
    CU_ASSERT_EQUAL(free_of("USDT"), usdt_free - 400 * MARKET_UNIT);
    CU_ASSERT(rec.balances_gen > bgen);

    /* filled at the fake: it goes, BTC comes */
    gen = rec.generation;
    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld", (long long)id);
    CU_ASSERT_EQUAL(wstest_post(&fx, path), 200);
    CU_ASSERT_FATAL(pump_until(u, slot, lacks_order));
    settle_events(u, slot);
    CU_ASSERT(free_of("BTC") > btc_free);
    CU_ASSERT_EQUAL(locked_of("USDT"), 0);
    CU_ASSERT(rec.generation > gen);

    /* a resting sell, cancelled: it comes and goes */
    id = place_limit(u, slot, "BTCUSDT", "SELL", "0.002", "60000");
    CU_ASSERT_STRING_EQUAL(find_order(id)->side, "SELL");
    snprintf(path, sizeof(path), "%lld", (long long)id);
    CU_ASSERT(trade_a("DELETE", "/api/v3/order",
                      (const char *const[]){"symbol", "BTCUSDT", "orderId",
                                            path, NULL}) == id);
    CU_ASSERT_FATAL(pump_until(u, slot, lacks_order));
    CU_ASSERT_EQUAL(rec.status, US_LIVE);
    CU_ASSERT_EQUAL(rec.error_code, 0);
    ud_free(u);
    /* freed: the record is emptied */
    CU_ASSERT_EQUAL(us_find(area, fp), -1);
}

static void
test_refused_keys(void)
{
    struct userdata *u = new_userdata();
    char fp_a[US_FP_LEN + 1], fp_x[US_FP_LEN + 1];
    int a, x;

    /* account A's key with B's secret: a bad signature */
    a = add_key(u, TEST_KEY_A, TEST_SECRET_B, fp_a);
    CU_ASSERT_FATAL(pump_until(u, a, is_failed));
    CU_ASSERT_EQUAL(rec.error_code, -1022);
    CU_ASSERT(strstr(rec.error, "Signature for this request is not valid") !=
              NULL);
    CU_ASSERT(strstr(rec.error, TEST_SECRET_B) == NULL);
    CU_ASSERT_EQUAL(rec.norders, 0);
    /* a key the exchange does not know */
    x = add_key(
        u, "NoSuchKey0000000000000000000000000000000000000000000000000000X",
        TEST_SECRET_A, fp_x);
    CU_ASSERT_NOT_EQUAL(a, x);
    CU_ASSERT_FATAL(pump_until(u, x, is_failed));
    CU_ASSERT_EQUAL(rec.error_code, -2015);
    /* the first is still refused, each with its own error */
    CU_ASSERT_EQUAL(us_read(area, a, &rec), 0);
    CU_ASSERT_EQUAL(rec.error_code, -1022);
    ud_free(u);
}

static bool
resnapshotted(int slot)
{
    (void)slot;
    return rec.status == US_LIVE && rec.snapshots >= 2 && rec.subscribes >= 2;
}

static void
test_reconnects_and_resnapshots(void)
{
    struct userdata *u = new_userdata();
    struct ud_stats st;
    char fp[US_FP_LEN + 1];
    long calls;
    int64_t id;
    int slot;

    slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);
    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    calls = snapshot_calls;
    want_subs = 1;
    CU_ASSERT(pump_until(u, slot, fake_holds));

    /* the fake drops every connection without a close frame */
    CU_ASSERT_EQUAL(wstest_post(&fx, "/__fake/stream/disconnect?frame=0"), 200);
    CU_ASSERT_FATAL(pump_until(u, slot, resnapshotted));
    ud_stats(u, &st);
    CU_ASSERT_EQUAL(st.reconnects, 1);
    CU_ASSERT_EQUAL(snapshot_calls - calls, 2);
    CU_ASSERT_EQUAL(rec.connected, 1);

    /* events flow on the new connection */
    id = place_limit(u, slot, "ETHUSDT", "BUY", "0.01", "2000");
    CU_ASSERT_STRING_EQUAL(find_order(id)->symbol, "ETHUSDT");
    ud_free(u);
}

static struct userdata *pumped; /* for unsubscribed_twice */

static bool
unsubscribed_twice(int slot)
{
    struct ud_stats st;

    (void)slot;
    ud_stats(pumped, &st);
    return st.unsubscribes == 2;
}

static void
test_remove_unsubscribes(void)
{
    struct userdata *u = new_userdata();
    struct ud_stats st;
    char fp[US_FP_LEN + 1];
    int slot;

    slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);
    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    want_subs = 1;
    CU_ASSERT(pump_until(u, slot, fake_holds));
    CU_ASSERT_EQUAL(ud_remove_key(u, fp), 0);
    CU_ASSERT_EQUAL(us_find(area, fp), -1);
    CU_ASSERT_EQUAL(us_read(area, slot, &rec), 0);
    CU_ASSERT_STRING_EQUAL(rec.fp, "");
    CU_ASSERT_EQUAL(ud_remove_key(u, fp), -1);
    /* the unsubscription reaches the fake while the connection stays */
    want_subs = 0;
    CU_ASSERT(pump_until(u, slot, fake_holds));
    ud_stats(u, &st);
    CU_ASSERT_EQUAL(st.unsubscribes, 1);
    CU_ASSERT_EQUAL(st.keys, 0);
    CU_ASSERT_EQUAL(st.connected, 1);

    /* removed while its subscription is on its way: ended when it comes */
    slot = add_key(u, TEST_KEY_B, TEST_SECRET_B, fp);
    CU_ASSERT_EQUAL(ud_remove_key(u, fp), 0);
    pumped = u;
    CU_ASSERT(pump_until(u, slot, unsubscribed_twice));
    CU_ASSERT(pump_until(u, slot, fake_holds));
    ud_stats(u, &st);
    CU_ASSERT_EQUAL(st.unsubscribes, 2);
    ud_free(u);
}

/* Whether a forked child, reading the area as a worker does, finds fp's
 * record live with free USDT equal to want. */
static bool
child_sees_usdt(const char *fp, int64_t want)
{
    int status = 0;
    pid_t pid = fork();

    if (pid == 0) {
        int slot = us_find(area, fp);
        _exit(slot >= 0 && us_read(area, slot, &rec) == 0 &&
                      rec.status == US_LIVE && free_of("USDT") == want
                  ? 0
                  : 1);
    }
    return pid > 0 && tl_wait_exit(pid, WAIT_MS, &status) == 0 &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
test_balance_updates(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1];
    int64_t before, after;
    uint64_t bgen;
    int slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);

    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    before = free_of("USDT");
    bgen = rec.balances_gen;
    after = fake_deposit("USDT", "5.5");
    CU_ASSERT_EQUAL(after, before + 550000000);
    want_free = after;
    CU_ASSERT_FATAL(pump_until(u, slot, usdt_is));
    CU_ASSERT(rec.balances_gen > bgen);
    after = fake_deposit("USDT", "-2");
    want_free = after;
    CU_ASSERT_FATAL(pump_until(u, slot, usdt_is));
    CU_ASSERT_EQUAL(free_of("USDT"), before + 350000000);
    /* another process sees the same record in the area */
    CU_ASSERT(child_sees_usdt(fp, want_free));
    ud_free(u);
}

static void
test_order_list(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1], path[128];
    int64_t list, above = -1;
    int slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);

    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    list = trade_a_at("POST", "/api/v3/orderList/oco",
                      (const char *const[]){"symbol", "BTCUSDT", "side", "SELL",
                                            "quantity", "0.001", "aboveType",
                                            "LIMIT_MAKER", "abovePrice",
                                            "55000", "belowType", "STOP_LOSS",
                                            "belowStopPrice", "45000", NULL},
                      "orderListId");
    CU_ASSERT_FATAL(list >= 0);
    want_list = list;
    CU_ASSERT_FATAL(pump_until(u, slot, list_has_two));
    for (uint32_t i = 0; i < rec.norders; i++)
        if (rec.orders[i].order_list_id == list &&
            strcmp(rec.orders[i].type, "LIMIT_MAKER") == 0)
            above = rec.orders[i].order_id;
    CU_ASSERT_FATAL(above >= 0);
    /* the above leg fills, the other expires: the list is done */
    snprintf(path, sizeof(path), "/__fake/fill?orderId=%lld", (long long)above);
    CU_ASSERT_EQUAL(wstest_post(&fx, path), 200);
    CU_ASSERT_FATAL(pump_until(u, slot, list_is_gone));
    ud_free(u);
}

static bool
snapshot_held(int slot)
{
    (void)slot;
    return rec.subscribes == 1 && rec.status == US_SNAPSHOT &&
           strstr(rec.error, "held") != NULL;
}

static void
test_events_before_the_snapshot(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1];
    int64_t free_units, id;
    uint64_t ogen;
    int slot;

    /* subscribed, but the budget holds the snapshot back */
    CU_ASSERT_EQUAL(fakex_reset(&fx), 0);
    hold_snapshots = 1;
    slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);
    CU_ASSERT_FATAL(pump_until(u, slot, snapshot_held));
    ogen = rec.orders_gen;
    /* meanwhile a deposit and an order: their events wait for it */
    free_units = fake_deposit("USDT", "7");
    CU_ASSERT_FATAL(free_units > 0);
    id = trade_a("POST", "/api/v3/order",
                 (const char *const[]){"symbol", "BTCUSDT", "side", "BUY",
                                       "type", "LIMIT", "timeInForce", "GTC",
                                       "quantity", "0.01", "price", "30000",
                                       NULL});
    CU_ASSERT_FATAL(id >= 0);
    for (int i = 0; i < 10; i++)
        CU_ASSERT(ud_step(u, 20) == 0);
    CU_ASSERT_EQUAL(us_read(area, slot, &rec), 0);
    CU_ASSERT_EQUAL(rec.status, US_SNAPSHOT);
    CU_ASSERT_EQUAL(rec.orders_gen, ogen);
    /* the snapshot comes: the order once, the deposit counted once */
    hold_snapshots = 0;
    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    settle_events(u, slot);
    want_order = id;
    CU_ASSERT(has_order(slot));
    CU_ASSERT_EQUAL(rec.norders, 1);
    CU_ASSERT_EQUAL(free_of("USDT"), free_units - 300 * MARKET_UNIT);
    CU_ASSERT_EQUAL(rec.snapshots, 1);
    ud_free(u);
}

static void
test_ed25519_key(void)
{
    struct userdata *u = new_userdata_at(base_ed);
    char fp[US_FP_LEN + 1];
    int slot;

    /* signed with another Ed25519 key: refused */
    slot = add_key_on(u, ED_KEY, ed_other_pem, BNC_ENV_TESTNET, fp);
    CU_ASSERT_FATAL(pump_until(u, slot, is_failed));
    CU_ASSERT_EQUAL(rec.error_code, -1022);
    CU_ASSERT_EQUAL(rec.env, BNC_ENV_TESTNET);
    /* the right key replaces it and is tried at once */
    CU_ASSERT_EQUAL(add_key_on(u, ED_KEY, ed_pem, BNC_ENV_TESTNET, fp), slot);
    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    CU_ASSERT_EQUAL(rec.snapshots, 1);
    CU_ASSERT(rec.nbalances > 0);
    CU_ASSERT(strstr(rec.error, "BEGIN") == NULL);
    ud_free(u);
}

static void
test_planned_reconnect(void)
{
    struct userdata *u;
    struct ud_stats st;
    char fp[US_FP_LEN + 1];
    int slot;

    /* a connection older than max_conn_age_ms is replaced */
    next_max_age_ms = 1000;
    u = new_userdata();
    next_max_age_ms = 0;
    slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);
    CU_ASSERT_FATAL(pump_until(u, slot, is_live));
    CU_ASSERT_FATAL(pump_until(u, slot, resnapshotted));
    ud_stats(u, &st);
    CU_ASSERT(st.reconnects >= 1);
    CU_ASSERT_EQUAL(rec.connected, 1);
    ud_free(u);
}

static void
test_fingerprint(void)
{
    char a[US_FP_LEN + 1], b[US_FP_LEN + 1], c[US_FP_LEN + 1];

    CU_ASSERT_EQUAL(us_fingerprint(TEST_KEY_A, BNC_ENV_MAINNET, a), 0);
    CU_ASSERT_EQUAL(us_fingerprint(TEST_KEY_A, BNC_ENV_TESTNET, b), 0);
    CU_ASSERT_EQUAL(us_fingerprint(TEST_KEY_B, BNC_ENV_MAINNET, c), 0);
    CU_ASSERT_EQUAL(strlen(a), US_FP_LEN);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    CU_ASSERT(strstr(TEST_KEY_A, a) == NULL);
}

/* ---- messages fed without a connection (userdata.h, for tests) ---- */

static void
feed(struct userdata *u, const char *text)
{
    ud_feed_message(u, text, strlen(text));
}

/* A live key made by ud_feed_subscribed and ud_feed_snapshot; account is
 * the account's body. */
static int
fed_live_key(struct userdata *u, char fp[US_FP_LEN + 1], const char *account)
{
    json_object *orders = json_object_new_array(),
                *acct = json_tokener_parse(account);
    int slot = add_key(u, TEST_KEY_A, TEST_SECRET_A, fp);

    CU_ASSERT_PTR_NOT_NULL_FATAL(acct);
    CU_ASSERT_EQUAL(ud_feed_snapshot(u, fp, orders, acct), -1); /* not yet */
    CU_ASSERT_EQUAL_FATAL(ud_feed_subscribed(u, fp, 0), 0);
    CU_ASSERT_EQUAL_FATAL(ud_feed_snapshot(u, fp, orders, acct), 0);
    json_object_put(orders);
    json_object_put(acct);
    CU_ASSERT_FATAL(us_read(area, slot, &rec) == 0);
    CU_ASSERT_EQUAL(rec.status, US_LIVE);
    return slot;
}

/* Feeds subscription 0 a balanceUpdate of asset by delta at time t, then
 * reads the key's record back into rec. */
static void
fed_balance_update(struct userdata *u, int slot, const char *asset,
                   const char *delta, long t)
{
    char ev[256];

    snprintf(ev, sizeof(ev),
             "{\"subscriptionId\":0,\"event\":{\"e\":\"balanceUpdate\","
             "\"E\":%ld,\"a\":\"%s\",\"d\":\"%s\",\"T\":%ld}}",
             t, asset, delta, t);
    feed(u, ev);
    CU_ASSERT_FATAL(us_read(area, slot, &rec) == 0);
}

/* Found by fuzz_userdata_event: a balanceUpdate's delta was added
 * unchecked (a negative free, which market_format refuses with an
 * assertion, or a signed overflow). */
static void
test_balance_update_out_of_range(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1];
    int slot =
        fed_live_key(u, fp,
                     "{\"updateTime\":1000,\"balances\":[{\"asset\":\"BTC\","
                     "\"free\":\"1.00000000\",\"locked\":\"0.50000000\"}]}");

    fed_balance_update(u, slot, "BTC", "-1.00000001", 2000);
    fed_balance_update(u, slot, "BTC", "92233720368.54775807", 2001);
    CU_ASSERT_EQUAL_FATAL(rec.nbalances, 1);
    CU_ASSERT_EQUAL(rec.balances[0].free, 100000000);
    CU_ASSERT_EQUAL(rec.balances[0].locked, 50000000);
    CU_ASSERT_EQUAL(rec.account_update_ms, 1000);
    /* what fits still applies, down to zero free */
    fed_balance_update(u, slot, "BTC", "-1.00000000", 2002);
    CU_ASSERT_EQUAL_FATAL(rec.nbalances, 1);
    CU_ASSERT_EQUAL(rec.balances[0].free, 0);
    CU_ASSERT_EQUAL(rec.account_update_ms, 2002);
    ud_free(u);
}

/* Found by fuzz_userdata_event: asset names longer than struct
 * us_balance holds were cut, so two of them could become one name twice. */
static void
test_long_asset_names(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1];

    fed_live_key(
        u, fp,
        "{\"updateTime\":1000,\"balances\":["
        "{\"asset\":\"AAAAAAAAAAAAAAAAB\",\"free\":\"1\",\"locked\":\"0\"},"
        "{\"asset\":\"AAAAAAAAAAAAAAAAC\",\"free\":\"1\",\"locked\":\"0\"},"
        "{\"asset\":\"BTC\",\"free\":\"1\",\"locked\":\"0\"}]}");
    CU_ASSERT_EQUAL_FATAL(rec.nbalances, 1);
    CU_ASSERT_STRING_EQUAL(rec.balances[0].asset, "BTC");
    CU_ASSERT_EQUAL(rec.balances_truncated, 1);
    ud_free(u);
}

/* Found by fuzz_userdata_event: an answer with id 0 was taken as the
 * answer to every key's subscription (0 is "no request on its way"). */
static void
test_answer_to_no_request(void)
{
    struct userdata *u = new_userdata();
    char fp[US_FP_LEN + 1];
    int slot = fed_live_key(u, fp, "{\"updateTime\":1000,\"balances\":[]}");
    struct ud_stats st;

    feed(u, "{\"id\":0,\"status\":200,\"result\":{\"subscriptionId\":5}}");
    feed(u, "{\"id\":0,\"status\":400,\"error\":{\"code\":-1022,"
            "\"msg\":\"Signature for this request is not valid.\"}}");
    CU_ASSERT_FATAL(us_read(area, slot, &rec) == 0);
    CU_ASSERT_EQUAL(rec.status, US_LIVE);
    CU_ASSERT_EQUAL(rec.error_code, 0);
    ud_stats(u, &st);
    CU_ASSERT_EQUAL(st.subscribes, 1);
    CU_ASSERT_EQUAL(st.refusals, 0);
    /* the key still takes subscription 0's events */
    fed_balance_update(u, slot, "ETH", "2.5", 2000);
    CU_ASSERT_EQUAL_FATAL(rec.nbalances, 1);
    CU_ASSERT_EQUAL(rec.balances[0].free, 250000000);
    ud_free(u);
}

static CU_TestInfo userdata_tests[] = {
    {"fingerprints: per key and environment", test_fingerprint},
    {"orders placed, filled, cancelled; balances; generations",
     test_follows_orders_and_balances},
    {"a bad signature and an unknown key: each key's error", test_refused_keys},
    {"a forced disconnect: reconnect, resubscribe, re-snapshot",
     test_reconnects_and_resnapshots},
    {"a connection past its age is replaced", test_planned_reconnect},
    {"balanceUpdate: deposits and withdrawals", test_balance_updates},
    {"an order list: listStatus and its legs", test_order_list},
    {"events before the snapshot wait for it and count once",
     test_events_before_the_snapshot},
    {"a removed key is unsubscribed", test_remove_unsubscribes},
    {"an Ed25519 key: signed subscription, snapshot", test_ed25519_key},
    {"fed: a balanceUpdate out of range is not applied",
     test_balance_update_out_of_range},
    {"fed: asset names too long are left out, not cut", test_long_asset_names},
    {"fed: an answer with id 0 answers no subscription",
     test_answer_to_no_request},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"userdata", suite_init, suite_clean, NULL, NULL, userdata_tests},
    CU_SUITE_INFO_NULL,
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return testlib_run(suites);
}
