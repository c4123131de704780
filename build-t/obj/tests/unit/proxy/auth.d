build/obj/tests/unit/proxy/auth.o: tests/unit/proxy/auth.c \
 /usr/include/android/openssl/base64.h \
 /usr/include/android/openssl/base.h \
 /usr/include/android/openssl/is_boringssl.h \
 /usr/include/android/openssl/opensslconf.h proxy/auth.h common/str.h
/usr/include/android/openssl/base64.h:
/usr/include/android/openssl/base.h:
/usr/include/android/openssl/is_boringssl.h:
/usr/include/android/openssl/opensslconf.h:
proxy/auth.h:
common/str.h:
