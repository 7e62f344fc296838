/*
 * tools_schema.h - the JSON text fragments the Binance tool rows build
 * their schemas from: string literals joined at compile time (TU_STR,
 * TU_OBJ, TU_IN, TU_ORDER_PROPS, TU_MONEY_WARNING, ...). Macros only: no
 * function, no include; nothing here can fail at run time (the engine
 * checks every schema when a server is built).
 */
#ifndef BINMCPD_TOOLS_SCHEMA_H
#define BINMCPD_TOOLS_SCHEMA_H

/* ---- schema fragments (string literals, joined at compile time) ---- */

/* clang-format off */
#define TU_STR "{\"type\":\"string\"}"
#define TU_INT "{\"type\":\"integer\"}"
#define TU_NUM "{\"type\":\"number\"}"
#define TU_BOOL "{\"type\":\"boolean\"}"
#define TU_STRS "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"
/* An order-book side: [["price","qty"], ...]. */
#define TU_LEVELS "{\"type\":\"array\",\"items\":" TU_STRS "}"
#define TU_ARR(items) "{\"type\":\"array\",\"items\":" items "}"
#define TU_OBJ(props) "{\"type\":\"object\",\"properties\":{" props "}}"
/* One property: TU_F("price", TU_STR). */
#define TU_F(name, schema) "\"" name "\":" schema

/* Input schemas: no unknown arguments, required names quoted by the row. */
#define TU_IN(props, required)                                               \
    "{\"type\":\"object\",\"properties\":{" props "},\"required\":["         \
    required "],\"additionalProperties\":false}"
#define TU_IN_OPTIONAL(props)                                                \
    "{\"type\":\"object\",\"properties\":{" props                            \
    "},\"additionalProperties\":false}"
#define TU_IN_NONE                                                           \
    "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"

#define TU_SYMBOL_PATTERN "^[A-Za-z0-9]{1,20}$"
#define TU_IN_SYMBOL_AS(name, desc)                                          \
    TU_F(name, "{\"type\":\"string\",\"pattern\":\"" TU_SYMBOL_PATTERN       \
               "\",\"description\":\"" desc "\"}")
#define TU_IN_SYMBOL                                                         \
    TU_IN_SYMBOL_AS("symbol", "Trading pair such as BTCUSDT (any case; "     \
                              "upper-cased before use).")
#define TU_IN_INT(name, min, max, desc)                                      \
    TU_F(name, "{\"type\":\"integer\",\"minimum\":" #min                     \
               ",\"maximum\":" #max ",\"description\":\"" desc "\"}")
#define TU_IN_TIME(name, desc)                                               \
    TU_F(name, "{\"type\":\"integer\",\"minimum\":0,\"description\":\""      \
               desc " (milliseconds since the Unix epoch).\"}")
/* start_time and end_time, described as the first and the last of what. */
#define TU_IN_TIME_RANGE(first, last)                                          \
    TU_IN_TIME("start_time", first) "," TU_IN_TIME("end_time", last)
/* A kline interval, as Binance names them (get_klines, get_chart). */
#define TU_IN_INTERVAL                                                          \
    TU_F("interval",                                                         \
         "{\"type\":\"string\",\"enum\":[\"1s\",\"1m\",\"3m\",\"5m\","       \
         "\"15m\",\"30m\",\"1h\",\"2h\",\"4h\",\"6h\",\"8h\",\"12h\",\"1d\","  \
         "\"3d\",\"1w\",\"1M\"],\"description\":\"Candle length: s = "     \
         "second, m = minute, h = hour, d = day, w = week, M = month.\"}")

/* An order as Binance answers it (get_order, place_order, the legs of a
 * list, ...): the fields tools keep (tu_order_fields) and their schema. */
#define TU_ORDER_PROPS                                                          \
    TU_F("symbol", TU_STR) "," TU_F("orderId", TU_INT) ","                   \
    TU_F("orderListId", TU_INT) "," TU_F("clientOrderId", TU_STR) ","        \
    TU_F("origClientOrderId", TU_STR) "," TU_F("transactTime", TU_INT) ","   \
    TU_F("time", TU_INT) "," TU_F("updateTime", TU_INT) ","                  \
    TU_F("price", TU_STR) "," TU_F("origQty", TU_STR) ","                    \
    TU_F("executedQty", TU_STR) "," TU_F("cummulativeQuoteQty", TU_STR) "," \
    TU_F("origQuoteOrderQty", TU_STR) "," TU_F("status", TU_STR) ","         \
    TU_F("timeInForce", TU_STR) "," TU_F("type", TU_STR) ","                 \
    TU_F("side", TU_STR) "," TU_F("stopPrice", TU_STR) ","                   \
    TU_F("trailingDelta", TU_INT) "," TU_F("trailingTime", TU_INT) ","       \
    TU_F("icebergQty", TU_STR) "," TU_F("strategyId", TU_INT) ","            \
    TU_F("strategyType", TU_INT) "," TU_F("isWorking", TU_BOOL) ","          \
    TU_F("workingTime", TU_INT) ","                                          \
    TU_F("selfTradePreventionMode", TU_STR) ","                              \
    TU_F("preventedMatchId", TU_INT) ","                                     \
    TU_F("preventedQuantity", TU_STR) "," TU_F("expiryReason", TU_STR) ","   \
    TU_F("fills", TU_ARR(TU_OBJ(                                             \
        TU_F("price", TU_STR) "," TU_F("qty", TU_STR) ","                    \
        TU_F("commission", TU_STR) "," TU_F("commissionAsset", TU_STR) ","   \
        TU_F("tradeId", TU_INT))))

#define TU_ENV_PROP TU_F("environment", TU_STR)

/* Every order-changing tool takes confirmation_token (the trading guard
 * reads it) and says what its call may do. */
#define TU_IN_CONFIRMATION_TOKEN                                                \
    TU_F("confirmation_token",                                               \
         "{\"type\":\"string\",\"maxLength\":128,\"description\":"        \
         "\"Only when an earlier identical call answered CONFIRMATION "       \
         "REQUIRED with a token, and the user approved that order: the "     \
         "token. Never use a token the user did not approve.\"}")

#define TU_MONEY_WARNING                                                        \
    "With mainnet credentials this moves real money. Try it first with "    \
    "testnet credentials (configure_credentials environment \"testnet\")" \
    " or with test: true on place_order. The operator's trading guard "     \
    "checks it (limits, symbols) and may ask the user to confirm it; it "   \
    "is recorded in the audit journal (get_audit_log)."

/* clang-format on */

#endif
