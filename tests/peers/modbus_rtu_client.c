/* A Modbus RTU client (master) built on libmodbus, the reference C library,
 * for weft's integration tests: it polls weft-devsim's simulated
 * instruments over a pty and checks what they answer.
 *
 *   modbus_rtu_client TTY BAUD PARITY UNIT CHECK...
 *
 * Each CHECK is one transaction and its expected outcome:
 *   hr:ADDR=V1,V2,...   read holding registers (function 3) from ADDR
 *   ir:ADDR=V1,V2,...   read input registers (function 4)
 *   co:ADDR=B1,B2,...   read coils (function 1), bits as 0/1
 *   di:ADDR=B1,B2,...   read discrete inputs (function 2)
 *   w6:ADDR=V           write single register (function 6); must be acknowledged
 *   ex:T:ADDR:COUNT=E   read COUNT from table T (hr, ir, co, di); expect exception E
 * Values are decimal (registers as unsigned 16-bit). Prints one line per
 * check ("ok ..." or "FAIL ...") and exits 0 only if every check passed,
 * 1 if any failed, 2 on a usage or connection error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modbus.h>

#define MAX_VALUES 125

static int parse_values(const char *text, long *out) {
  int n = 0;
  const char *p = text;
  while (*p != '\0' && n < MAX_VALUES) {
    char *end = NULL;
    out[n++] = strtol(p, &end, 10);
    if (end == p) return -1;
    p = end;
    if (*p == ',') ++p;
    else if (*p != '\0') return -1;
  }
  return n;
}

/* One check; returns 1 if it passed. */
static int run_check(modbus_t *ctx, const char *check) {
  char kind[3] = {0};
  long expected[MAX_VALUES];
  uint16_t regs[MAX_VALUES];
  uint8_t bits[MAX_VALUES];
  if (strlen(check) < 4 || check[2] != ':') {
    fprintf(stderr, "bad check '%s'\n", check);
    return 0;
  }
  memcpy(kind, check, 2);

  if (strcmp(kind, "ex") == 0) {
    char table[3] = {0};
    int addr = 0, count = 0, code = 0;
    if (sscanf(check + 3, "%2[a-z]:%d:%d=%d", table, &addr, &count, &code) != 4 || count < 1 || count > MAX_VALUES) {
      fprintf(stderr, "bad check '%s'\n", check);
      return 0;
    }
    int rc;
    if (strcmp(table, "hr") == 0) rc = modbus_read_registers(ctx, addr, count, regs);
    else if (strcmp(table, "ir") == 0) rc = modbus_read_input_registers(ctx, addr, count, regs);
    else if (strcmp(table, "co") == 0) rc = modbus_read_bits(ctx, addr, count, bits);
    else if (strcmp(table, "di") == 0) rc = modbus_read_input_bits(ctx, addr, count, bits);
    else {
      fprintf(stderr, "bad table in '%s'\n", check);
      return 0;
    }
    if (rc != -1) {
      printf("FAIL %s: read succeeded (%d values), expected exception %d\n", check, rc, code);
      return 0;
    }
    if (errno != (int)(MODBUS_ENOBASE + code)) {
      printf("FAIL %s: error '%s' (errno %d), expected exception %d\n", check, modbus_strerror(errno), errno, code);
      return 0;
    }
    printf("ok %s: exception %d (%s)\n", check, code, modbus_strerror(errno));
    return 1;
  }

  int addr = 0;
  const char *eq = strchr(check + 3, '=');
  if (eq == NULL || sscanf(check + 3, "%d=", &addr) != 1) {
    fprintf(stderr, "bad check '%s'\n", check);
    return 0;
  }
  const int n = parse_values(eq + 1, expected);
  if (n <= 0) {
    fprintf(stderr, "bad values in '%s'\n", check);
    return 0;
  }

  if (strcmp(kind, "w6") == 0) {
    if (modbus_write_register(ctx, addr, (uint16_t)expected[0]) != 1) {
      printf("FAIL %s: %s\n", check, modbus_strerror(errno));
      return 0;
    }
    printf("ok %s: acknowledged\n", check);
    return 1;
  }

  int rc;
  const int is_bits = strcmp(kind, "co") == 0 || strcmp(kind, "di") == 0;
  if (strcmp(kind, "hr") == 0) rc = modbus_read_registers(ctx, addr, n, regs);
  else if (strcmp(kind, "ir") == 0) rc = modbus_read_input_registers(ctx, addr, n, regs);
  else if (strcmp(kind, "co") == 0) rc = modbus_read_bits(ctx, addr, n, bits);
  else if (strcmp(kind, "di") == 0) rc = modbus_read_input_bits(ctx, addr, n, bits);
  else {
    fprintf(stderr, "unknown check kind in '%s'\n", check);
    return 0;
  }
  if (rc != n) {
    printf("FAIL %s: %s\n", check, rc == -1 ? modbus_strerror(errno) : "short read");
    return 0;
  }
  int ok = 1;
  printf("%s %s: got", "  ", check);
  for (int i = 0; i < n; ++i) {
    const long got = is_bits ? (long)bits[i] : (long)regs[i];
    printf("%s%ld", i ? "," : " ", got);
    if (got != expected[i]) ok = 0;
  }
  printf("\n%s %s\n", ok ? "ok" : "FAIL", check);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: modbus_rtu_client TTY BAUD PARITY UNIT CHECK...\n");
    return 2;
  }
  modbus_t *ctx = modbus_new_rtu(argv[1], atoi(argv[2]), argv[3][0], 8, 1);
  if (ctx == NULL) {
    fprintf(stderr, "modbus_new_rtu: %s\n", modbus_strerror(errno));
    return 2;
  }
  if (getenv("MODBUS_DEBUG") != NULL) modbus_set_debug(ctx, TRUE);
  modbus_set_slave(ctx, atoi(argv[4]));
  modbus_set_response_timeout(ctx, 1, 0);
  if (modbus_connect(ctx) == -1) {
    fprintf(stderr, "modbus_connect %s: %s\n", argv[1], modbus_strerror(errno));
    modbus_free(ctx);
    return 2;
  }
  int failed = 0;
  for (int i = 5; i < argc; ++i) failed += !run_check(ctx, argv[i]);
  printf("%d checks, %d failed\n", argc - 5, failed);
  modbus_close(ctx);
  modbus_free(ctx);
  return failed ? 1 : 0;
}
