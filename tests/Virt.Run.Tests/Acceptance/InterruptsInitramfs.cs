using System.Globalization;
using System.Text.RegularExpressions;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// The initramfs of <see cref="DebianGuests.BuildInitramfs"/> with /proc/interrupts printed between
/// <see cref="Begin"/> and the marker, and the counters read back from that listing.
/// </summary>
internal static class InterruptsInitramfs
{
    /// <summary>The line /init prints before /proc/interrupts.</summary>
    public const string Begin = "VIRT-INTERRUPTS-BEGIN";

    /// <summary>Builds the gzip-compressed cpio archive around Debian's static busybox.</summary>
    /// <param name="busyboxPath">The busybox binary.</param>
    /// <returns>The archive.</returns>
    public static byte[] Build(string busyboxPath)
    {
        const string init = "#!/bin/busybox sh\n"
            + "/bin/busybox mount -t proc proc /proc\n"
            + "/bin/busybox echo '" + Begin + "'\n"
            + "/bin/busybox cat /proc/interrupts\n"
            + "/bin/busybox echo '" + DebianGuests.Marker + "'\n"
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

    /// <summary>The first number of the /proc/interrupts line <paramref name="line"/> matches (its group 1); fails if none.</summary>
    /// <param name="line">A pattern with the count as group 1.</param>
    /// <param name="interrupts">The listing.</param>
    /// <returns>The count.</returns>
    public static long Count(Regex line, string interrupts)
    {
        Match match = line.Match(interrupts);
        Assert.True(match.Success, $"/proc/interrupts has no line for {line}:\n{interrupts}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
