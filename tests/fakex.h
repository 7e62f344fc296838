/*
 * fakex.h - public constants of the fake Binance Spot exchange (tests/fakex).
 *
 * Tests include this to assert exact values.  The fake builds its market
 * from these strings and, at start-up, checks that the numbers it derives
 * for BTCUSDT equal the FAKEX_BTCUSDT_* strings below (it refuses to start
 * otherwise), so a test can trust them.
 *
 * Derivation rules, for every symbol with last price L and tick T:
 *   openPrice = prevClosePrice = L*0.98   highPrice = L*1.02
 *   lowPrice = L*0.97                     weightedAvgPrice = L*0.995
 *   priceChange = L - open                priceChangePercent = 3 decimals
 *   bidPrice = L - T   askPrice = L + T   avgPrice = L*0.999
 *   quoteVolume = volume * weightedAvgPrice
 * (each rounded down to the tick; all strings carry 8 decimals).
 */
#ifndef BINMCPD_FAKEX_H
#define BINMCPD_FAKEX_H

/* ---- credentials accepted when no --key is given (= testlib.h) ---- */
#define FAKEX_KEY_A                                                            \
    "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
#define FAKEX_SECRET_A                                                         \
    "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
#define FAKEX_KEY_B                                                            \
    "BbbbKeyForTheSecondAccount0000000000000000000000000000000000000B"
#define FAKEX_SECRET_B                                                         \
    "BbbbSecretForTheSecondAccount00000000000000000000000000000000000"

/* ---- limits ---- */
#define FAKEX_MAX_BODY            65536 /* larger request bodies get HTTP 413 */
#define FAKEX_MAX_PARAMS          64    /* more parameters get -1101 */
#define FAKEX_MAX_KEYS            16    /* --key may be given this often */
#define FAKEX_WEIGHT_LIMIT_1M     6000  /* rateLimits REQUEST_WEIGHT */
#define FAKEX_ORDER_LIMIT_10S     100   /* rateLimits ORDERS 10 SECOND */
#define FAKEX_ORDER_LIMIT_1D      200000 /* rateLimits ORDERS 1 DAY */
#define FAKEX_RECV_WINDOW_DEFAULT 5000
#define FAKEX_RECV_WINDOW_MAX     60000

/* ---- request weights (binance-spot.md) ---- */
#define FAKEX_W_PING             1
#define FAKEX_W_TIME             1
#define FAKEX_W_EXCHANGE_INFO    20
#define FAKEX_W_TICKER_24HR      2 /* per symbol; FAKEX_W_ALL_TICKERS without */
#define FAKEX_W_ALL_TICKERS      80
#define FAKEX_W_TICKER_PRICE     2 /* 4 for all or for symbols=[...] */
#define FAKEX_W_TICKER_PRICE_ALL 4
#define FAKEX_W_BOOK_TICKER      2 /* 4 for all or for symbols=[...] */
#define FAKEX_W_AVG_PRICE        2
#define FAKEX_W_DEPTH_100        5 /* limit 1-100; 25, 50, 250 above */
#define FAKEX_W_TRADES           25
#define FAKEX_W_KLINES           2
#define FAKEX_W_ACCOUNT          20
#define FAKEX_W_MY_TRADES        20
#define FAKEX_W_ORDER_NEW        1
#define FAKEX_W_ORDER_TEST       1 /* 20 with computeCommissionRates=true */
#define FAKEX_W_ORDER_GET        4
#define FAKEX_W_ORDER_CANCEL     1
#define FAKEX_W_OPEN_ORDERS      6 /* 80 without symbol */
#define FAKEX_W_ALL_ORDERS       20
#define FAKEX_W_CANCEL_ALL       1
#define FAKEX_W_ORDER_LIST_NEW   1 /* orderList/oco, /oto, /otoco */
#define FAKEX_W_ORDER_LIST_DEL   1 /* DELETE /api/v3/orderList */
#define FAKEX_W_ORDER_LIST_GET   4 /* GET /api/v3/orderList */
#define FAKEX_W_ALL_ORDER_LISTS  20
#define FAKEX_W_OPEN_ORDER_LISTS 6
#define FAKEX_W_CANCEL_REPLACE   1
#define FAKEX_W_AMEND            4 /* order/amend/keepPriority */
#define FAKEX_W_COMMISSION       20
#define FAKEX_W_RATE_LIMIT_ORDER 40
#define FAKEX_W_PREVENTED_BY_ID  2  /* myPreventedMatches by preventedMatchId */
#define FAKEX_W_PREVENTED        20 /* ... by orderId */
#define FAKEX_W_UNKNOWN          1  /* unknown path or method */

/* ---- symbols and their last prices ---- */
#define FAKEX_BTCUSDT_LAST  "50000.00000000"
#define FAKEX_ETHUSDT_LAST  "3000.00000000"
#define FAKEX_BNBUSDT_LAST  "600.00000000"
#define FAKEX_ETHBTC_LAST   "0.06000000"
#define FAKEX_SOLUSDT_LAST  "150.00000000"
#define FAKEX_XRPUSDT_LAST  "0.50000000"
#define FAKEX_LUNAUSDT_LAST "1.00000000" /* status BREAK: no trading */
/* fakex --extra-symbols N (benchmarks) adds X00USDT .. X<N-1>USDT after
 * them: TRADING, base asset BTC, BTCUSDT's filters, last FAKEX_EXTRA_LAST */
#define FAKEX_EXTRA_SYMBOLS_MAX 64
#define FAKEX_EXTRA_LAST        "100.00000000"

/* PRICE_FILTER tickSize (minPrice = tickSize, maxPrice = FAKEX_MAX_PRICE).
 * XRPUSDT and LUNAUSDT trade below 1 USDT: 0.01 would leave no room for
 * 100 bid levels, so they use FAKEX_TICK_SMALL as on the real exchange. */
#define FAKEX_TICK_USDT   "0.01000000"
#define FAKEX_TICK_ETHBTC "0.00001000"
#define FAKEX_TICK_SMALL  "0.00010000"
#define FAKEX_MAX_PRICE   "1000000.00000000"
/* LOT_SIZE, the same for every symbol */
#define FAKEX_MIN_QTY   "0.00001000"
#define FAKEX_MAX_QTY   "9000.00000000"
#define FAKEX_STEP_SIZE "0.00001000"
/* NOTIONAL */
#define FAKEX_MIN_NOTIONAL_USDT "5.00000000"
#define FAKEX_MIN_NOTIONAL_BTC  "0.00010000"
#define FAKEX_MAX_NOTIONAL      "9000000.00000000"
/* ICEBERG_PARTS, TRAILING_DELTA (the same bounds above and below) and
 * MAX_NUM_ORDER_AMENDS, the same for every symbol */
#define FAKEX_ICEBERG_PARTS      10
#define FAKEX_TRAILING_DELTA_MIN 10
#define FAKEX_TRAILING_DELTA_MAX 2000
#define FAKEX_MAX_ORDER_AMENDS   10
/* MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS of every symbol: open orders per
 * account and symbol, all of them and the stop or trailing ones. */
#define FAKEX_MAX_NUM_ORDERS      200
#define FAKEX_MAX_NUM_ALGO_ORDERS 5

/* ---- BTCUSDT ticker/24hr, bookTicker, avgPrice ---- */
#define FAKEX_BTCUSDT_OPEN             "49000.00000000"
#define FAKEX_BTCUSDT_PREV_CLOSE       "49000.00000000"
#define FAKEX_BTCUSDT_HIGH             "51000.00000000"
#define FAKEX_BTCUSDT_LOW              "48500.00000000"
#define FAKEX_BTCUSDT_PRICE_CHANGE     "1000.00000000"
#define FAKEX_BTCUSDT_PRICE_CHANGE_PCT "2.041"
#define FAKEX_BTCUSDT_WAVG             "49750.00000000"
#define FAKEX_BTCUSDT_BID              "49999.99000000"
#define FAKEX_BTCUSDT_ASK              "50000.01000000"
#define FAKEX_BTCUSDT_AVG_PRICE        "49950.00000000"
#define FAKEX_BTCUSDT_QUOTE_VOLUME     "61416375.00000000"
/* the same for every symbol */
#define FAKEX_TICKER_VOLUME   "1234.50000000"
#define FAKEX_TICKER_LAST_QTY "0.10000000"
#define FAKEX_BID_QTY         "1.50000000"
#define FAKEX_ASK_QTY         "2.25000000"
#define FAKEX_TICKER_FIRST_ID 100000
#define FAKEX_TICKER_LAST_ID  199999
#define FAKEX_TICKER_COUNT    100000
#define FAKEX_AVG_PRICE_MINS  5

/* ---- depth: level i (0-based) is last -/+ tick*(i+1), qty (i+1)*step, at
 * start and after /__fake/reset; the streams below change the book ---- */
#define FAKEX_DEPTH_LAST_UPDATE_ID 1027024
#define FAKEX_DEPTH_DEFAULT_LIMIT  100
#define FAKEX_DEPTH_MAX_LIMIT      5000
#define FAKEX_DEPTH_MAX_LEVELS     100
#define FAKEX_DEPTH_QTY_STEP       "0.10000000"

/* ---- recent trades: min(limit, 50), ids ending at FAKEX_TRADES_LAST_ID,
 * price = last, qty = ((i % 5) + 1) * 0.01 ---- */
#define FAKEX_TRADES_DEFAULT_LIMIT 500
#define FAKEX_TRADES_MAX_LIMIT     1000
#define FAKEX_TRADES_MAX           50
#define FAKEX_TRADES_LAST_ID       28457

/* ---- klines: min(limit, 100); kline k with open time t has
 * j = (t / 60000) % 7, open = last - j*tick, close = last - ((j+3)%7)*tick,
 * high = max(open, close) + tick, low = min(open, close) - tick ---- */
#define FAKEX_KLINES_DEFAULT_LIMIT 500
#define FAKEX_KLINES_MAX_LIMIT     1000
#define FAKEX_KLINES_MAX           100
#define FAKEX_KLINE_VOLUME         "10.00000000"
#define FAKEX_KLINE_TAKER_BASE     "4.00000000"
#define FAKEX_KLINE_TRADES         100

/* ---- scripted market data (charts): until /__fake/reset,
 *   POST /__fake/klines?symbol=S&interval=I&start=T&ohlcv=o:h:l:c:v,...
 *     S's klines of interval I (fixed length: not 1M) are these, opening
 *     at T, T + I, ...; closeTime, quoteVolume and the taker fields follow
 *     from them.  startTime, endTime and limit select as on Binance.
 *   POST /__fake/depth?symbol=S&bids=p:q,...&asks=p:q,...
 *     S's order book is these levels, best first on each side; limit
 *     keeps the first ones.
 * An empty list goes back to the generated data. ---- */
#define FAKEX_SCRIPT_KLINES_MAX 1000
#define FAKEX_SCRIPT_LEVELS_MAX 1000

/* ---- accounts (one per API key) ---- */
#define FAKEX_INIT_BTC            "1.00000000"
#define FAKEX_INIT_USDT           "10000.00000000"
#define FAKEX_INIT_ETH            "5.00000000"
#define FAKEX_INIT_BNB            "0.00000000" /* listed, hidden by omitZeroBalances */
#define FAKEX_UID_BASE            354937868 /* account i has uid BASE + i */
#define FAKEX_COMMISSION_BPS      10        /* maker/takerCommission */
#define FAKEX_COMMISSION_RATE     "0.00100000"
#define FAKEX_FIRST_ORDER_ID      1000
#define FAKEX_FIRST_TRADE_ID      5000
#define FAKEX_FIRST_ORDER_LIST_ID 700  /* orderListId; -1 on plain orders */
#define FAKEX_FIRST_EXECUTION_ID  8000 /* amend executionId */
#define FAKEX_COMMISSION_DISCOUNT "0.25000000" /* BNB discount, not enabled */
#define FAKEX_LIST_LIMIT_DEFAULT  500          /* allOrders, myTrades */
#define FAKEX_LIST_LIMIT_MAX      1000

/* Every account starts with two BTCUSDT trades (their orders are archived:
 * GET /api/v3/order does not find them).  Account i (0-based, in --key
 * order) has trade ids SEED_TRADE_ID + 2i and + 2i + 1, order ids
 * SEED_ORDER_ID + 2i and + 2i + 1. */
#define FAKEX_SEED_TRADE_ID    101
#define FAKEX_SEED_ORDER_ID    901
#define FAKEX_SEED_TIME        1700000000000LL
#define FAKEX_SEED1_PRICE      "48000.00000000" /* BUY, taker, at SEED_TIME */
#define FAKEX_SEED1_QTY        "0.01000000"
#define FAKEX_SEED1_QUOTE_QTY  "480.00000000"
#define FAKEX_SEED1_COMMISSION "0.00001000"     /* BTC */
#define FAKEX_SEED2_PRICE      "49000.00000000" /* SELL, maker, +60 s */
#define FAKEX_SEED2_QTY        "0.00500000"
#define FAKEX_SEED2_QUOTE_QTY  "245.00000000"
#define FAKEX_SEED2_COMMISSION "0.24500000" /* USDT */

/* ---- faults (POST /__fake/fault) ---- */
#define FAKEX_RETRY_AFTER_DEFAULT   60
#define FAKEX_SLOW_DELAY_DEFAULT_MS 3000

/* ---- order lifecycle ----
 * Order lists (POST /api/v3/orderList/oco, /oto, /otoco) answer with
 * newOrderRespType RESULT unless told otherwise.  The legs get consecutive
 * order ids: an OCO pair places its stop-loss leg first (as Binance's
 * examples show), an OTO / OTOCO its working leg first, then the pending
 * leg(s), the pending stop-loss leg before the other.  Pending legs are
 * PENDING_NEW with workingTime -1, count as open (openOrders, cancel) and
 * reserve no funds until the working leg fills completely; then they go on
 * the book (a LIMIT_MAKER that would take, or funds that do not suffice,
 * make them EXPIRED; a pending leg that is marketable or whose stop is
 * already reached fills at once at the last price).  When one leg of an
 * OCO pair trades (even partly), expires or is canceled, the other leg
 * becomes EXPIRED (canceled, when the whole list is canceled); a list whose
 * legs are all done is ALL_DONE.  Canceling any leg cancels the list.
 *
 * Nothing trades on its own: the last prices never move.  Tests fill
 * resting orders by hand:
 *
 *   POST /__fake/fill?orderId=N[&qty=Q][&price=P]
 *     fills (qty: partly fills) open order N of any account as maker, at
 *     price P, else its limit price, else its stop price, else the last
 *     price.  A stop order is triggered by it.  Answers {"order": <GET
 *     /api/v3/order view>[, "orderList": <GET /api/v3/orderList view>]};
 *     404 for an unknown order, 409 for one that is not open or is still
 *     PENDING_NEW, 400 for a bad qty/price.
 *   POST /__fake/order_count?n10s=N[&n1d=M][&key=K]
 *     sets the unfilled order counters of account K (default: the first)
 *     in the current windows, to provoke -1015 (HTTP 429, Retry-After).
 *     Order lists and cancelReplace check the counters (an OCO or OTO
 *     adds 2, an OTOCO 3, a cancelReplace 1); POST /api/v3/order still
 *     only counts.  GET /api/v3/rateLimit/order shows them.
 *   POST /__fake/balance?asset=A&delta=D[&key=K]
 *     a deposit (D) or a withdrawal ("-D", at most the free balance) of
 *     asset A on account K (default: the first); user data subscribers
 *     get a balanceUpdate.  Answers {asset, free}.
 *
 * GET /api/v3/myPreventedMatches answers [] for valid requests: orders of
 * one account never meet each other in the fake, so nothing is prevented.
 */

/* ---- market streams (tests/fakex_ws.c) ----
 * A WebSocket server on its own 127.0.0.1 port (GET /__fake/stream tells
 * it) with Binance's paths: /ws/<stream> and /stream?streams=<a>/<b>
 * (combined: each payload wrapped {"stream":..,"data":..}), and SUBSCRIBE,
 * UNSUBSCRIBE, LIST_SUBSCRIPTIONS messages.  Streams, for every symbol in
 * lowercase: <sym>@depth and <sym>@depth@100ms (the same depthUpdate
 * events: U and u chained from the book /api/v3/depth serves),
 * <sym>@bookTicker (when the top of the book changes), <sym>@aggTrade and
 * <sym>@kline_1m (per /__fake/stream/trade).  The server pings every 20 s.
 *
 *   GET  /__fake/stream[?symbol=S]
 *     {port, open, accepted, refused, pings, pongs (with the ping's
 *     payload), received, sent, lastCloseCode, userDataSubscriptions (of
 *     the connections still open), generator:{running, done, n}[,
 *     lastUpdateId, bids, asks (level counts of S's book)]}
 *   POST /__fake/stream/random?symbol=S&n=N[&rate=R][&seed=X][&changes=K]
 *        [&band=B][&trades=P]
 *     starts the random generator: N depth events (1..MAX_EVENTS), R per
 *     second (0: as fast as it can), from seed X, each with 1..K level
 *     changes (K <= MAX_CHANGES) within B ticks (1..BAND, default BAND) of
 *     the last price, quantities k*QTY_STEP, k in 0..5 (0 removes), each
 *     event spanning 1 to 3 update ids, and after P in 100 of them (default
 *     0) an aggTrade at the best bid or ask.  With symbols=A,B,... instead
 *     of symbol the events go to each symbol in turn (R/count per symbol:
 *     Binance's full rate, a diff every 100 ms, is R = 10 * count).  409
 *     while one runs.  Answers {started, fromUpdateId (0 with symbols)}.
 *   POST /__fake/stream/probe?symbol=S
 *     one depth event changing the quantity of S's best bid (a bookTicker
 *     follows); answers {lastUpdateId, sentUs: the wall clock
 *     (CLOCK_REALTIME, microseconds) once it was queued to the connections}.
 *   POST /__fake/stream/depth?symbol=S&side=bid|ask&price=P&qty=Q[&ids=N]
 *     one scripted depth event taking N update ids.
 *   POST /__fake/stream/gap?symbol=S[&events=N]
 *     the next N depth events of S change the book but are not sent: the
 *     stream skips their update ids once.
 *   POST /__fake/stream/trade?symbol=S&price=P&qty=Q[&buyer_maker=true]
 *     an aggTrade and the kline_1m it updates.
 *   POST /__fake/stream/ping[?payload=P]    a ping to every connection
 *   POST /__fake/stream/disconnect[?frame=0]
 *     ends every connection: a close frame 1001 "going away", or with
 *     frame=0 the socket closes without one.
 *   POST /__fake/stream/send?(text=T|size=N)[&fragments=K]
 *     a text message (or N bytes of "x") to every connection, in K frames.
 *   POST /__fake/stream/badframe    a frame with the reserved bits set
 * The WebSocket API is served on the same port at /ws-api/v3:
 * userDataStream.subscribe.signature (apiKey, timestamp, recvWindow,
 * signature over the sorted params, checked as REST signatures are, any
 * key type), userDataStream.unsubscribe and session.subscriptions.  A
 * subscription gets {"subscriptionId":n,"event":{...}}: an executionReport
 * for every order placed (NEW), filled (TRADE), canceled or expired, a
 * listStatus for each order list one of whose legs changed (EXEC_STARTED /
 * EXECUTING, or ALL_DONE once no leg is open), and an
 * outboundAccountPosition with the assets whose balance changed, after each
 * request (REST or /__fake/) that changed the account.  Subscription ids
 * count up from 0 across the whole exchange.
 * A handshake with the query parameter __fake=bad_accept gets a wrong
 * Sec-WebSocket-Accept.  /__fake/reset puts the books back (and sends
 * nothing). */
#define FAKEX_STREAM_FIRST_AGG_ID   26129
#define FAKEX_STREAM_FIRST_TRADE_ID 50000
#define FAKEX_STREAM_BAND           200
#define FAKEX_STREAM_QTY_STEP       "0.25000000"
#define FAKEX_STREAM_MAX_CHANGES    32
#define FAKEX_STREAM_MAX_EVENTS     1000000
#define FAKEX_UDS_MAX_SUBS          64 /* user data subscriptions in all */

#endif
