using Virt.Machine.Boot;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Real guests from Debian's i386 and amd64 packages, fetched with apt-get into a private state folder (the machine's own
/// architecture list is left alone), unpacked with dpkg-deb, and cached across test runs. Never committed.
/// </summary>
internal static class DebianGuests
{
    /// <summary>The line the test initramfs prints once the kernel ran its /init.</summary>
    public const string Marker = "VIRT-INITRAMFS-MARKER: userspace is up";

    private static readonly Lock s_lock = new();

    /// <summary>Where packages are cached: $VIRT_GUEST_CACHE, or a folder under the temporary directory.</summary>
    public static string CacheDirectory =>
        Environment.GetEnvironmentVariable("VIRT_GUEST_CACHE") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Path.GetTempPath(), "virt-guest-cache");

    /// <summary>Downloads (once) and unpacks linux-image-686 and busybox-static:i386; returns the kernel and busybox paths.</summary>
    public static (string Kernel, string Busybox) EnsureI386KernelAndBusybox() => EnsureKernelAndBusybox("i386", "linux-image-686");

    /// <summary>Downloads (once) and unpacks linux-image-amd64 and busybox-static:amd64; returns the kernel and busybox paths.</summary>
    public static (string Kernel, string Busybox) EnsureAmd64KernelAndBusybox() => EnsureKernelAndBusybox("amd64", "linux-image-amd64");

    /// <summary>
    /// Downloads (once) and unpacks the kernel named by <paramref name="metapackage"/> and busybox-static for Debian
    /// architecture <paramref name="architecture"/>, with apt state private to the cache folder.
    /// </summary>
    private static (string Kernel, string Busybox) EnsureKernelAndBusybox(string architecture, string metapackage)
    {
        lock (s_lock)
        {
            string root = Path.Combine(CacheDirectory, architecture);
            string extracted = Path.Combine(root, "root");
            string? kernel = FindKernel(extracted);
            string busybox = Path.Combine(extracted, "bin", "busybox");
            if (kernel is not null && File.Exists(busybox))
            {
                return (kernel, busybox);
            }

            Directory.CreateDirectory(Path.Combine(root, "lists", "partial"));
            Directory.CreateDirectory(Path.Combine(root, "cache", "archives", "partial"));
            string[] aptOptions =
            [
                "-q", "-o", "APT::Architecture=" + architecture, "-o", "APT::Architectures=" + architecture,
                "-o", "Dir::State::Lists=" + Path.Combine(root, "lists"), "-o", "Dir::Cache=" + Path.Combine(root, "cache"),
            ];
            // A mirror mid-sync can fail one list (apt-get update then exits 100); retry, and accept the
            // outcome as soon as the package we need is known.
            string? depends = null;
            string updateErrors = string.Empty;
            for (int attempt = 0; attempt < 3 && depends is null; attempt++)
            {
                (int _, string _, string err) = VirtRunProcess.Run("apt-get", [.. aptOptions, "update"], TimeSpan.FromMinutes(10));
                updateErrors = err;

                // The metapackage names the real image package in its Depends.
                (int _, string show, string _) = VirtRunProcess.Run("apt-cache", [.. aptOptions, "show", metapackage], TimeSpan.FromMinutes(2));
                depends = show.Split('\n').FirstOrDefault(l => l.StartsWith("Depends:", StringComparison.Ordinal));
                if (depends is null)
                {
                    Thread.Sleep(TimeSpan.FromSeconds(5));
                }
            }

            if (depends is null)
            {
                throw new InvalidOperationException($"apt-get update ({architecture}) did not make {metapackage} known: " + updateErrors);
            }

            string imagePackage = depends["Depends:".Length..].Split(',')[0].Trim().Split(' ')[0];

            string downloads = Path.Combine(root, "debs");
            Directory.CreateDirectory(downloads);
            var info = VirtRunProcess.RunIn(downloads, "apt-get", [.. aptOptions, "download", imagePackage, "busybox-static"], TimeSpan.FromMinutes(10));
            Check(info, "apt-get download");
            foreach (string deb in Directory.GetFiles(downloads, "*.deb"))
            {
                Check(VirtRunProcess.Run("dpkg-deb", ["-x", deb, extracted], TimeSpan.FromMinutes(5)), "dpkg-deb -x " + Path.GetFileName(deb));
            }

            kernel = FindKernel(extracted) ?? throw new InvalidOperationException($"no /boot/vmlinuz-* in {imagePackage}");
            return (kernel, busybox);
        }
    }

    /// <summary>
    /// Downloads (once) and unpacks Debian's amd64 memtest86+ package; returns the path of its <c>memtest86+x64.bin</c>,
    /// a bzImage-format file with a 64-bit entry that boots through the Linux boot protocol.
    /// </summary>
    public static string EnsureAmd64Memtest()
    {
        const string architecture = "amd64";
        const string package = "memtest86+";
        lock (s_lock)
        {
            string root = Path.Combine(CacheDirectory, architecture + "-memtest");
            string extracted = Path.Combine(root, "root");
            string binary = Path.Combine(extracted, "boot", "memtest86+x64.bin");
            if (File.Exists(binary))
            {
                return binary;
            }

            Directory.CreateDirectory(Path.Combine(root, "lists", "partial"));
            Directory.CreateDirectory(Path.Combine(root, "cache", "archives", "partial"));
            string[] aptOptions =
            [
                "-q", "-o", "APT::Architecture=" + architecture, "-o", "APT::Architectures=" + architecture,
                "-o", "Dir::State::Lists=" + Path.Combine(root, "lists"), "-o", "Dir::Cache=" + Path.Combine(root, "cache"),
            ];
            string downloads = Path.Combine(root, "debs");
            Directory.CreateDirectory(downloads);
            (int ExitCode, string Stdout, string Stderr) download = (1, string.Empty, string.Empty);
            for (int attempt = 0; attempt < 3 && download.ExitCode != 0; attempt++)
            {
                // A mirror mid-sync can fail one list; retry the update and the download together.
                VirtRunProcess.Run("apt-get", [.. aptOptions, "update"], TimeSpan.FromMinutes(10));
                download = VirtRunProcess.RunIn(downloads, "apt-get", [.. aptOptions, "download", package], TimeSpan.FromMinutes(10));
            }

            Check(download, "apt-get download " + package);
            foreach (string deb in Directory.GetFiles(downloads, "*.deb"))
            {
                Check(VirtRunProcess.Run("dpkg-deb", ["-x", deb, extracted], TimeSpan.FromMinutes(5)), "dpkg-deb -x " + Path.GetFileName(deb));
            }

            return File.Exists(binary) ? binary : throw new InvalidOperationException($"no /boot/memtest86+x64.bin in {package}");
        }
    }

    /// <summary>
    /// A gzipped newc initramfs with busybox and an /init that prints <see cref="Marker"/> to the console and powers off.
    /// </summary>
    public static byte[] BuildInitramfs(string busyboxPath)
    {
        const string init = "#!/bin/busybox sh\n"
            + "/bin/busybox mount -t proc proc /proc\n"
            + "/bin/busybox echo '" + Marker + "'\n"
            + "/bin/busybox poweroff -f\n";
        return new CpioArchiveBuilder()
            .AddDirectory("bin")
            .AddDirectory("dev")
            .AddDirectory("proc")
            .AddCharacterDevice("dev/console", 5, 1)
            .AddFile("bin/busybox", File.ReadAllBytes(busyboxPath), permissions: 0x1ED)
            .AddSymlink("bin/sh", "busybox")
            .AddTextFile("init", init, permissions: 0x1ED)
            .ToGzipArray();
    }

    private static string? FindKernel(string extracted)
    {
        string boot = Path.Combine(extracted, "boot");
        return Directory.Exists(boot) ? Directory.GetFiles(boot, "vmlinuz-*").OrderBy(f => f, StringComparer.Ordinal).LastOrDefault() : null;
    }

    private static void Check((int ExitCode, string Stdout, string Stderr) result, string what)
    {
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed ({result.ExitCode}): {result.Stderr}");
        }
    }
}
