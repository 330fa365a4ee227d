/*
 * ngx_jpulse version, shared by the nginx module, cachectl and the tests.
 */

#ifndef JP_VERSION_H
#define JP_VERSION_H

#define JP_VERSION      "0.1.0"
#define JP_RELEASE      "2026-11-26"
#define JP_NAME         "ngx_jpulse"

/*
 * pm2Id values that jPulse's PM2 workers never use (PM2 counts from 0), so
 * the instance ids of our processes cannot collide with Node peers sharing
 * the same Redis (jpulse-contract.md 4.6).
 */
#define JP_PM2ID_NGINX     100
#define JP_PM2ID_CACHECTL  200

#endif /* JP_VERSION_H */
