build/obj/proxy/forwarded.o: proxy/forwarded.c proxy/forwarded.h \
 common/str.h config/config-t.h proxy/xchg-t.h common/buf-t.h \
 proxy/hdrs-t.h /usr/include/android/openssl/rand.h \
 /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h \
 /usr/include/android/openssl/siphash.h
proxy/forwarded.h:
common/str.h:
config/config-t.h:
proxy/xchg-t.h:
common/buf-t.h:
proxy/hdrs-t.h:
/usr/include/android/openssl/rand.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
/usr/include/android/openssl/siphash.h:
