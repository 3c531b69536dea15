using System.Diagnostics;
using System.Text;
using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Storage;

/// <summary>
/// Debian's SeaBIOS (package <c>seabios</c>) finds the PIIX3 IDE drives and boots them: a raw disk image whose MBR is
/// a boot sector of our own, and an El Torito CD (built with <c>xorriso</c>) with a no-emulation boot image of our own.
/// Each boot image reads a further sector through INT 13h extensions (AH=42h) and prints its marker to the debug
/// console, then leaves through isa-debug-exit.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class IdeBootAcceptanceTests
{
    private const string SeaBios = "/usr/share/seabios/bios-256k.bin";
    private const byte ExitValue = 0x31;
    private const long InstructionBudget = 4_000_000_000;
    private const ushort Buffer = 0x8000;
    private const ushort Packet = 0x0600;

    [Fact]
    public void SeaBiosBootsTheMbrOfARawDiskImage()
    {
        byte[] image = new byte[2 << 20];
        byte[] boot = BootCode(0x7C00, "DISK", lbaToRead: 1, blockSize: 512);
        boot.CopyTo(image, 0);
        image[510] = 0x55;
        image[511] = 0xAA;
        Encoding.ASCII.GetBytes("SECTOR-ONE-OK\n\0").CopyTo(image, 512);

        string output = Boot(new MemoryBlockDevice(image), IdeMediaKind.Disk, index: 0, bootOrder: "c");

        Assert.Contains("DISK:booted drive 80\n", output, StringComparison.Ordinal);
        Assert.Contains("SECTOR-ONE-OK", output, StringComparison.Ordinal);
    }

    [Fact]
    public void SeaBiosBootsANoEmulationElToritoCd()
    {
        Assert.True(File.Exists(SeaBios), $"{SeaBios} is missing: install Debian's seabios package.");
        string directory = Directory.CreateTempSubdirectory("virt-ide-iso").FullName;
        try
        {
            string root = Path.Combine(directory, "root");
            Directory.CreateDirectory(root);
            byte[] boot = new byte[2048];
            BootCode(0x7C00, "CDROM", lbaToRead: 16, blockSize: 2048).CopyTo(boot, 0);
            File.WriteAllBytes(Path.Combine(root, "boot.bin"), boot);
            string iso = Path.Combine(directory, "boot.iso");
            RunXorriso("-as", "mkisofs", "-quiet", "-o", iso, "-b", "boot.bin", "-no-emul-boot", "-boot-load-size", "4", root);

            string output = Boot(new MemoryBlockDevice(File.ReadAllBytes(iso), sectorSize: 2048, readOnly: true), IdeMediaKind.Cdrom, index: 2, bootOrder: "d");

            Assert.Matches("CDROM:booted drive [89E][0-9A-F]\n", output);
            Assert.Contains("CD001", output, StringComparison.Ordinal); // the primary volume descriptor at block 16, read through INT 13h
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Boot(IBlockDevice medium, IdeMediaKind media, int index, string bootOrder)
    {
        Assert.True(File.Exists(SeaBios), $"{SeaBios} is missing: install Debian's seabios package.");
        var debugcon = new BufferCharacterSink();
        using Machine machine = new MachineBuilder()
            .WithMemorySize(64UL << 20)
            .WithPciBus()
            .WithApic()
            .WithHpet()
            .WithFirmwareConfig(new FirmwareConfigOptions { LegacyBootOrder = bootOrder })
            .WithAcpi()
            .WithFirmware(SeaBios)
            .WithIdeDrive(index, medium, media)
            .WithDebugConsole(debugcon)
            .WithDebugExit()
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: InstructionBudget);
        string output = debugcon.GetText();
        Assert.True(stop.Kind == MachineStopKind.DebugExit, $"Stopped with {stop.Kind} after: {output}");
        Assert.Equal(ProcessExitStatuses.ForDebugExit(ExitValue), stop.ExitCode);
        return output;
    }

    /// <summary>
    /// A boot image at 0000:<paramref name="origin"/>: prints "NAME:booted drive XX" (DL in hex), reads block
    /// <paramref name="lbaToRead"/> of the boot drive into 0000:8000h with INT 13h AH=42h, prints its first 64
    /// printable bytes and exits through isa-debug-exit.
    /// </summary>
    private static byte[] BootCode(ulong origin, string name, uint lbaToRead, int blockSize)
    {
        return GuestPrograms.Assemble16(origin, a =>
        {
            Label hex = a.CreateLabel();
            Label print = a.CreateLabel();
            Label skip = a.CreateLabel();
            Label done = a.CreateLabel();
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(bl, dl);                                 // the boot drive
            foreach (char c in name + ":booted drive ")
            {
                a.mov(al, (byte)c);
                a.@out(0xE9, al);
            }

            a.mov(al, bl);
            a.shr(al, 4);
            a.call(hex);
            a.mov(al, bl);
            a.and(al, 0x0F);
            a.call(hex);
            a.mov(al, (byte)'\n');
            a.@out(0xE9, al);

            // INT 13h AH=42h: a disk address packet of 16 bytes at 0:600h for one block into 0:8000h.
            a.mov(__word_ptr[Packet], 0x0010);
            a.mov(__word_ptr[Packet + 2], 1);
            a.mov(__word_ptr[Packet + 4], Buffer);
            a.mov(__word_ptr[Packet + 6], 0);
            a.mov(__dword_ptr[Packet + 8], lbaToRead);
            a.mov(__dword_ptr[Packet + 12], 0);
            a.mov(si, Packet);
            a.mov(dl, bl);
            a.mov(ah, 0x42);
            a.@int(0x13);
            a.jc(done);

            // Print up to 64 bytes of the block, printable ones only.
            a.mov(si, Buffer);
            a.mov(cx, 64);
            a.Label(ref print);
            a.lodsb();
            a.cmp(al, 0x20);
            a.jb(skip);
            a.cmp(al, 0x7E);
            a.ja(skip);
            a.@out(0xE9, al);
            a.Label(ref skip);
            a.loop(print);
            a.mov(al, (byte)'\n');
            a.@out(0xE9, al);

            a.Label(ref done);
            a.mov(dx, 0x501);
            a.mov(al, ExitValue);
            a.@out(dx, al);
            a.hlt();

            // AL low nibble to hex on the debug console.
            Label digit = a.CreateLabel();
            a.Label(ref hex);
            a.add(al, (byte)'0');
            a.cmp(al, (byte)'9');
            a.jbe(digit);
            a.add(al, 7);
            a.Label(ref digit);
            a.@out(0xE9, al);
            a.ret();
        });
    }

    private static void RunXorriso(params string[] arguments)
    {
        var start = new ProcessStartInfo("xorriso") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"xorriso could not be started ({e.Message}): install Debian's xorriso package (.ci/install-packages does).");
            return;
        }

        using (process)
        {
            string error = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"xorriso failed: {error}");
        }
    }
}
