/* A Modbus RTU server (slave) built on libmodbus, the reference C library,
 * for weft's integration tests: weft's master polls it over a socat pty pair.
 *
 *   modbus_rtu_server TTY BAUD PARITY UNIT [normal | silent-after N]
 *
 * Known contents (every other address is unmapped: libmodbus answers
 * exception 2, illegal data address, by itself):
 *   coils            0..15   on when i % 2 == 0        (0x5555)
 *   discrete inputs  0..15   on when i % 3 == 0        (0..15: 0x9249)
 *   holding regs   100..109  1000 + (i - 100)
 *   input regs       0..9    2000 + i
 * Writes (functions 5, 6, 15, 16) change the mapping, so they read back;
 * each accepted one prints "wrote holding A = V" or "wrote coil A = V"
 * (every register or coil it set), so a test sees what reached the device.
 *
 * "silent-after N" answers the first N requests addressed to UNIT and then
 * only receives (a device that stopped answering). Prints "ready" once the
 * port is open and one line per request addressed to it ("request N fc F"),
 * flushed, so a test can wait for it and count what reached the wire.
 * Exits 0 when the tty goes away (EIO/EOF: socat was killed), 1 on errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modbus.h>

static void usage(void) {
  fprintf(stderr, "usage: modbus_rtu_server TTY BAUD PARITY(N|E|O) UNIT [normal | silent-after N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6 && argc != 7) usage();
  const char *tty = argv[1];
  const int baud = atoi(argv[2]);
  const char parity = argv[3][0];
  const int unit = atoi(argv[4]);
  long silent_after = -1; /* -1: always answer */
  if (argc >= 6 && strcmp(argv[5], "normal") != 0) {
    if (strcmp(argv[5], "silent-after") != 0 || argc != 7) usage();
    silent_after = atol(argv[6]);
  }
  if (baud <= 0 || unit < 1 || unit > 247 || (parity != 'N' && parity != 'E' && parity != 'O')) usage();

  modbus_t *ctx = modbus_new_rtu(tty, baud, parity, 8, 1);
  if (ctx == NULL) {
    fprintf(stderr, "modbus_new_rtu: %s\n", modbus_strerror(errno));
    return 1;
  }
  if (getenv("MODBUS_DEBUG") != NULL) modbus_set_debug(ctx, TRUE);
  modbus_set_slave(ctx, unit);
  if (modbus_connect(ctx) == -1) {
    fprintf(stderr, "modbus_connect %s: %s\n", tty, modbus_strerror(errno));
    modbus_free(ctx);
    return 1;
  }

  modbus_mapping_t *map = modbus_mapping_new_start_address(0, 16, 0, 16, 100, 10, 0, 10);
  if (map == NULL) {
    fprintf(stderr, "modbus_mapping_new_start_address: %s\n", modbus_strerror(errno));
    return 1;
  }
  for (int i = 0; i < 16; ++i) {
    map->tab_bits[i] = (i % 2 == 0) ? 1 : 0;
    map->tab_input_bits[i] = (i % 3 == 0) ? 1 : 0;
  }
  for (int i = 0; i < 10; ++i) {
    map->tab_registers[i] = (uint16_t)(1000 + i);
    map->tab_input_registers[i] = (uint16_t)(2000 + i);
  }

  printf("ready %s %d %c unit %d\n", tty, baud, parity, unit);
  fflush(stdout);

  uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
  long requests = 0;
  int status = 0;
  for (;;) {
    const int rc = modbus_receive(ctx, query);
    if (rc == 0) continue; /* addressed to another unit: ignored, as on a real bus */
    if (rc < 0) {
      if (errno == EMBBADCRC || errno == EMBBADDATA || errno == EMBMDATA || errno == EMBBADSLAVE) continue;
      if (errno == EIO || errno == ECONNRESET || errno == ENXIO || errno == ENODEV) break; /* unplugged */
      fprintf(stderr, "modbus_receive: %s\n", modbus_strerror(errno));
      status = 1;
      break;
    }
    ++requests;
    printf("request %ld fc %d\n", requests, query[1]);
    fflush(stdout);
    if (silent_after >= 0 && requests > silent_after) continue;
    if (modbus_reply(ctx, query, rc, map) == -1) {
      if (errno == EIO || errno == ENXIO || errno == ENODEV) break;
      fprintf(stderr, "modbus_reply: %s\n", modbus_strerror(errno));
      continue;
    }
    { /* what a write set, read back from the mapping (an exception set nothing: unmapped) */
      const int fc = query[1];
      const int addr = (query[2] << 8) | query[3];
      int n = 1;
      if (fc == 15 || fc == 16) n = (query[4] << 8) | query[5];
      for (int k = 0; (fc == 5 || fc == 6 || fc == 15 || fc == 16) && k < n; ++k) {
        const int a = addr + k;
        if ((fc == 6 || fc == 16) && a >= 100 && a < 110)
          printf("wrote holding %d = %d\n", a, map->tab_registers[a - 100]);
        else if ((fc == 5 || fc == 15) && a >= 0 && a < 16)
          printf("wrote coil %d = %d\n", a, map->tab_bits[a]);
      }
      fflush(stdout);
    }
  }
  printf("exit after %ld requests\n", requests);
  fflush(stdout);
  modbus_mapping_free(map);
  modbus_close(ctx);
  modbus_free(ctx);
  return status;
}
