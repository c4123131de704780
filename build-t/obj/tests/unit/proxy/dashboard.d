build/obj/tests/unit/proxy/dashboard.o: tests/unit/proxy/dashboard.c \
 /usr/include/android/openssl/base64.h \
 /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h \
 /usr/include/android/openssl/sha.h common/buf.h common/buf-t.h \
 common/err.h common/version.h common/xalloc.h proxy/dashboard.h
/usr/include/android/openssl/base64.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
/usr/include/android/openssl/sha.h:
common/buf.h:
common/buf-t.h:
common/err.h:
common/version.h:
common/xalloc.h:
proxy/dashboard.h:
