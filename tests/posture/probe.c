/* The security posture of a container, seen from inside: one "item: result" line per check.
 *
 * Built static (gcc -static) by tests/posture/conftest.py and run as root in a container under
 * Docker 20.10 and under minidock with the same flags; tests/posture/test_posture.py requires every
 * line to match. Results are "ok" or the errno's name, so the lines do not depend on the machine.
 * Syscalls are made raw (syscall(2)) with harmless arguments: what matters is whether the call
 * reaches the kernel (EFAULT, EBADF, EINVAL, ...) or is refused before it (EPERM from seccomp or a
 * missing capability, ENOSYS from the seccomp stub).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e) {
    static char buf[32];
    switch (e) {
    case EPERM: return "EPERM";       case ENOENT: return "ENOENT";   case ESRCH: return "ESRCH";
    case EIO: return "EIO";           case ENXIO: return "ENXIO";     case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";       case ECHILD: return "ECHILD";   case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";     case EACCES: return "EACCES";   case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";       case EEXIST: return "EEXIST";   case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";   case EISDIR: return "EISDIR";   case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";     case ENOSPC: return "ENOSPC";   case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";     case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOKEY: return "ENOKEY";     case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: snprintf(buf, sizeof buf, "errno%d", e); return buf;
    }
}

static void line(const char *item, const char *fmt, ...) {
    va_list ap;
    printf("%s: ", item);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static const char *res(long rc) { return rc < 0 ? errname(errno) : "ok"; }

static void call(const char *item, long rc) { line(item, "%s", res(rc)); }

static void status_lines(void) {
    static const char *keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:",
                                 "Seccomp:", "Seccomp_filters:", NULL};
    char buf[512];
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) { line("status", "%s", errname(errno)); return; }
    while (fgets(buf, sizeof buf, f)) {
        for (int i = 0; keys[i]; i++) {
            size_t n = strlen(keys[i]);
            if (strncmp(buf, keys[i], n) == 0) {
                char *v = buf + n;
                while (*v == ' ' || *v == '\t') v++;
                v[strcspn(v, "\n")] = 0;
                printf("%.*s: %s\n", (int)(n - 1), keys[i], v);
            }
        }
    }
    fclose(f);
}

/* masked: a file reads empty, a directory lists nothing (or the path is absent) */
static void masked(const char *path) {
    char item[128];
    snprintf(item, sizeof item, "masked %s", path);
    struct stat st;
    if (stat(path, &st) < 0) { line(item, "stat=%s", errname(errno)); return; }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) { line(item, "dir opendir=%s", errname(errno)); return; }
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
        closedir(d);
        line(item, "dir entries=%d", n);
        return;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) { line(item, "file open=%s", errname(errno)); return; }
    char buf[64];
    long n = read(fd, buf, sizeof buf);
    line(item, "file read=%s", n < 0 ? errname(errno) : n == 0 ? "empty" : "data");
    close(fd);
}

static void writable(const char *path) {
    char item[128];
    snprintf(item, sizeof item, "write %s", path);
    int fd = open(path, O_WRONLY | (strcmp(path, "/probe-new-file") ? 0 : O_CREAT), 0644);
    line(item, "%s", res(fd));
    if (fd >= 0) close(fd);
}

/* a host device made with mknod (CAP_MKNOD allows it), then opened: the device cgroup decides */
static void device(const char *name, mode_t type, int major, int minor) {
    char item[128], path[128];
    snprintf(item, sizeof item, "device %s", name);
    snprintf(path, sizeof path, "/tmp/probe-dev-%s", name);
    unlink(path);
    if (mknod(path, type | 0600, makedev(major, minor)) < 0) { line(item, "mknod=%s", errname(errno)); return; }
    int fd = open(path, O_RDWR);
    line(item, "mknod=ok open=%s", res(fd));
    if (fd >= 0) close(fd);
    unlink(path);
}

static void dev_nodes(void) {
    static const char *names[] = {"mem", "kmem", "port", "kmsg", "loop-control", "loop0", "fuse", "sda",
                                  "vda", "nvme0", "tty0", "tty1", "console", "net/tun", "ptmx", "full",
                                  "null", "random", "tty", "urandom", "zero", "shm", "mqueue", "pts", NULL};
    for (int i = 0; names[i]; i++) {
        char item[128], path[128];
        snprintf(item, sizeof item, "/dev/%s", names[i]);
        snprintf(path, sizeof path, "/dev/%s", names[i]);
        struct stat st;
        if (lstat(path, &st) < 0) { line(item, "%s", errname(errno)); continue; }
        const char *kind = S_ISCHR(st.st_mode) ? "chr" : S_ISBLK(st.st_mode) ? "blk" : S_ISDIR(st.st_mode) ? "dir"
                         : S_ISLNK(st.st_mode) ? "lnk" : "file";
        line(item, "%s", kind);
    }
}

static void keyring(void) {
    /* KEYCTL_GET_KEYRING_ID 0, KEY_SPEC_SESSION_KEYRING -3; KEYCTL_DESCRIBE 6 */
    long id = syscall(SYS_keyctl, 0, -3, 0);
    line("keyctl get session keyring", "%s", res(id));
    if (id >= 0) {
        char desc[256] = {0};
        long n = syscall(SYS_keyctl, 6, id, desc, sizeof desc - 1);
        if (n < 0) {
            line("session keyring", "describe=%s", errname(errno));
        } else {
            char *name = strrchr(desc, ';');
            name = name ? name + 1 : desc;
            name[strcspn(name, ".")] = 0; /* _ses.<container id> -> _ses: the id differs */
            char *perm = desc;
            for (int i = 0; i < 3 && perm; i++) { perm = strchr(perm, ';'); if (perm) perm++; }
            line("session keyring", "name=%s perm=%.8s", name, perm ? perm : "?");
        }
    }
    call("add_key", syscall(SYS_add_key, "user", "probe", "x", 1, -3));
    call("request_key", syscall(SYS_request_key, "user", "probe-absent", NULL, -3));
}

static void clone_newuser(void) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    line("clone(CLONE_NEWUSER)", "%s", res(pid));
    if (pid > 0) waitpid(pid, NULL, 0);
}

static void ptrace_child(void) {
    pid_t pid = fork();
    if (pid == 0) { pause(); _exit(0); }
    long rc = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, pid, 0, 0);
    line("ptrace attach child", "%s", res(rc));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "session-keyring") == 0) { /* its serial: which keyring exec joined */
        long id = syscall(SYS_keyctl, 0, -3, 0);
        printf("%ld\n", id < 0 ? -(long)errno : id);
        return 0;
    }
    status_lines();
    line("uid", "%d euid=%d gid=%d", getuid(), geteuid(), getgid());
    static const char *masks[] = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                  "/sys/firmware", "/sys/devices/virtual/powercap", NULL};
    for (int i = 0; masks[i]; i++) masked(masks[i]);
    static const char *ro[] = {"/proc/sys/kernel/hostname", "/proc/sysrq-trigger", "/proc/irq/default_smp_affinity",
                               "/proc/sys/vm/drop_caches", "/sys/kernel/uevent_helper", "/sys/fs/cgroup/cgroup.procs",
                               "/proc/sys/net/ipv4/ip_forward", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname",
                               "/probe-new-file", NULL};
    for (int i = 0; ro[i]; i++) writable(ro[i]);
    dev_nodes();
    device("mem", S_IFCHR, 1, 1);
    device("kmsg", S_IFCHR, 1, 11);
    device("loop-control", S_IFCHR, 10, 237);
    device("loop0", S_IFBLK, 7, 0);
    device("fuse", S_IFCHR, 10, 229);
    device("null", S_IFCHR, 1, 3);
    device("tun", S_IFCHR, 10, 200);
    keyring();
    call("unshare(CLONE_NEWUSER)", syscall(SYS_unshare, CLONE_NEWUSER));
    call("unshare(CLONE_NEWNS)", syscall(SYS_unshare, CLONE_NEWNS));
    clone_newuser();
    call("setns", syscall(SYS_setns, -1, 0));
    call("mount tmpfs", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL));
    call("umount2", syscall(SYS_umount2, "/proc/kcore", 2));
    call("bpf", syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, NULL, 0));
    call("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    call("init_module", syscall(SYS_init_module, NULL, 0, ""));
    call("finit_module", syscall(SYS_finit_module, -1, "", 0));
    call("delete_module", syscall(SYS_delete_module, "probe_absent", 0));
    call("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, O_RDONLY));
    call("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", NULL, NULL, 0));
    ptrace_child();
    call("process_vm_readv", syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0));
    call("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0));
    call("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, NULL, 0));
    call("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0 /* CAD_OFF */, NULL));
    call("swapon", syscall(SYS_swapon, "/probe-absent", 0));
    call("acct", syscall(SYS_acct, NULL));
    call("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
    call("clock_settime", syscall(SYS_clock_settime, 0, NULL));
    call("sethostname", syscall(SYS_sethostname, "probe", 5));
    call("chroot", syscall(SYS_chroot, "/"));
    call("userfaultfd", syscall(SYS_userfaultfd, 0));
    call("iopl", syscall(SYS_iopl, 3));
    call("ioperm", syscall(SYS_ioperm, 0x80, 1, 1));
    call("quotactl", syscall(SYS_quotactl, 0, NULL, 0, NULL));
    call("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0));
    call("fanotify_init", syscall(SYS_fanotify_init, 0, 0));
    call("vhangup", syscall(SYS_vhangup));
    call("get_mempolicy", syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0));
    call("personality(query)", syscall(SYS_personality, 0xffffffff));
    call("personality(ADDR_NO_RANDOMIZE)", syscall(SYS_personality, 0x0040000));
    call("socket(AF_VSOCK)", syscall(SYS_socket, 40, 1, 0));
    call("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
    call("clone3", syscall(435, NULL, 0));
    call("fchmodat2", syscall(452, AT_FDCWD, "/probe-absent", 0, 0));
    call("syscall 1000", syscall(1000));
    return 0;
}
