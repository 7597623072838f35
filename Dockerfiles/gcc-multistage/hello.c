#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    printf("hello %s from uid %d gid %d\n", argc > 1 ? argv[1] : "world", (int)getuid(), (int)getgid());
    return 0;
}
