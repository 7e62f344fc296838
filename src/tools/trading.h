/*
 * trading.h - the operator's trading rules, as configured.
 *
 * Plain data: settings.c fills a struct trading_settings from the
 * configuration file, the environment and the command line; guard.c
 * enforces it. No functions, no includes, so both layers can share it.
 */
#ifndef BINMCPD_TRADING_H
#define BINMCPD_TRADING_H

#define TRADING_SYMBOLS_MAX 1024 /* a symbol list, with the NUL */
#define TRADING_PATH_MAX    512  /* the journal's path, with the NUL */

/* How a human confirms an order (order_confirmation). */
enum order_confirmation {
    OC_AUTO = 0,    /* elicitation when the client offers it, else token */
    OC_ELICITATION, /* always ask through the client; never a token */
    OC_TOKEN,       /* a summary and a single-use token, then the order */
    OC_OFF,         /* no confirmation */
};

/* The operator's trading rules (guard.h enforces them). Set only by the
 * configuration file, the environment and the command line; SIGHUP
 * reloads them. */
struct trading_settings {
    enum order_confirmation confirmation; /* default OC_AUTO */
    int confirm_always;         /* confirm_on = always (default mainnet) */
    int confirmation_timeout_s; /* elicitation answer deadline (120) */
    double max_order_notional;  /* USDT per order; 0 = not set (then
                                   mainnet orders are refused) */
    double max_daily_notional;  /* USDT per key per rolling 24 h; 0 = none */
    char allowed_symbols[TRADING_SYMBOLS_MAX]; /* "A,B*": upper-case globs;
                                                   "" = every symbol */
    char denied_symbols[TRADING_SYMBOLS_MAX];  /* "" = none */
    int max_open_orders;            /* per symbol before placing; 0 = none */
    char journal[TRADING_PATH_MAX]; /* "" = the mode's default */
};

#endif
