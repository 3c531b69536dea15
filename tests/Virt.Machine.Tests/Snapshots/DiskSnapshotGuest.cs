using System.Security.Cryptography;
using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>A guest that writes and reads IDE sectors by PIO in a loop, and helpers to build and observe its machines.</summary>
internal static class DiskSnapshotGuest
{
    /// <summary>Sectors of the test disk (128 KiB: two 64 KiB groups of overlay chunks).</summary>
    public const int DiskSectors = 256;

    /// <summary>Rounds of the guest: one sector written and one read each.</summary>
    public const int Rounds = 120;

    /// <summary>The debug-exit value at the end.</summary>
    public const byte ExitValue = 0x2D;

    /// <summary>Where the guest keeps its running checksum of what it read.</summary>
    public const uint Accumulator = 0x30000;

    private const int SectorSize = 512;
    private const uint CodeAddress = 0x10000;
    private const uint WriteBuffer = 0x20000;
    private const uint ReadBuffer = 0x21000;
    private const ushort DataPort = 0x1F0;
    private const ushort StatusPort = 0x1F7;
    private const byte StatusBusy = 0x80;
    private const byte StatusDataRequest = 0x08;
    private const byte WriteSectors = 0x30;
    private const byte ReadSectors = 0x20;

    /// <summary>
    /// Flat 32-bit code: round r fills a sector with a pattern from r, writes it to LBA 3r mod 256 (WRITE SECTORS, PIO),
    /// reads LBA 7r mod 256 (READ SECTORS) and folds it into <see cref="Accumulator"/>, so RAM depends on what the disk
    /// returned; after <see cref="Rounds"/> rounds it leaves through the debug-exit port.
    /// </summary>
    public static byte[] Image { get; } = GuestPrograms.Assemble32(CodeAddress, a =>
    {
        Label round = a.CreateLabel();
        Label fill = a.CreateLabel();
        Label sum = a.CreateLabel();
        a.xor(ebx, ebx);
        a.mov(__dword_ptr[Accumulator], 0x1234_5678);
        a.Label(ref round);

        a.mov(edi, WriteBuffer);
        a.mov(ecx, SectorSize / 4);
        a.imul(eax, ebx, unchecked((int)0x9E37_79B1));
        a.Label(ref fill);
        a.mov(__dword_ptr[edi], eax);
        a.add(eax, 0x0100_0193);
        a.add(edi, 4);
        a.loop(fill);

        a.imul(eax, ebx, 3);
        Command(a, WriteSectors);
        WaitDataRequest(a);
        a.mov(dx, DataPort);
        a.mov(esi, WriteBuffer);
        a.mov(ecx, SectorSize / 2);
        a.cld();
        a.rep.outsw();
        WaitNotBusy(a);

        a.imul(eax, ebx, 7);
        Command(a, ReadSectors);
        WaitDataRequest(a);
        a.mov(dx, DataPort);
        a.mov(edi, ReadBuffer);
        a.mov(ecx, SectorSize / 2);
        a.rep.insw();

        a.mov(esi, ReadBuffer);
        a.mov(ecx, SectorSize / 4);
        a.mov(eax, __dword_ptr[Accumulator]);
        a.Label(ref sum);
        a.rol(eax, 5);
        a.xor(eax, __dword_ptr[esi]);
        a.add(esi, 4);
        a.loop(sum);
        a.mov(__dword_ptr[Accumulator], eax);

        a.inc(ebx);
        a.cmp(ebx, Rounds);
        a.jb(round);
        a.mov(dx, 0x501);
        a.mov(al, ExitValue);
        a.@out(dx, al);
        a.hlt();
    });

    /// <summary>A base image whose sector n holds n in every byte (so the fingerprint sees its contents), named "base.img".</summary>
    public static MemoryBlockDevice BaseDisk(int sectors = DiskSectors, bool readOnly = false)
    {
        byte[] data = new byte[sectors * SectorSize];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i / SectorSize);
        }

        return new MemoryBlockDevice(data, readOnly: readOnly, name: "base.img");
    }

    /// <summary>
    /// A deterministic ISA machine (<see cref="MachineBoard.IsaPc"/>: the guest drives the IDE ports with no firmware to
    /// enable them on the PIIX3) running <see cref="Image"/> with <paramref name="disk"/> as the primary master, on a
    /// snapshot overlay (in memory, or in <paramref name="scratchDirectory"/>) unless <paramref name="overlay"/> is false.
    /// </summary>
    public static MachineBuilder Builder(IBlockDevice disk, bool overlay = true, string? scratchDirectory = null) => new MachineBuilder()
        .WithBoard(MachineBoard.IsaPc)
        .WithMemorySize(4UL << 20)
        .WithIdeDrive(0, disk)
        .WithDiskSnapshot(overlay, scratchDirectory)
        .WithDebugExit()
        .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
        .WithFlatBinary(Image, new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "disk snapshot guest"));

    /// <summary>The primary master's medium as the controller sees it (the overlay, with one).</summary>
    public static IBlockDevice Disk(Machine machine) => machine.FindDevice<IsaIdeController>()!.GetMedium(0)!;

    /// <summary>All of a device's bytes.</summary>
    public static byte[] Contents(IBlockDevice device)
    {
        byte[] bytes = new byte[device.CapacityInBytes];
        device.Read(0, bytes);
        return bytes;
    }

    /// <summary>A hash of the whole disk as the guest sees it.</summary>
    public static string DiskHash(Machine machine)
    {
        IBlockDevice disk = Disk(machine);
        byte[] bytes = new byte[disk.CapacityInBytes];
        disk.Read(0, bytes);
        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    /// <summary>Issues an ATA command on the primary master for the LBA in AL (one sector), leaving DX at the status port.</summary>
    private static void Command(Assembler a, byte command)
    {
        a.mov(ecx, eax);
        foreach ((ushort port, byte value) in new (ushort, byte)[] { (0x1F6, 0xE0), (0x1F2, 1), (0x1F4, 0), (0x1F5, 0) })
        {
            a.mov(dx, port);
            a.mov(al, value);
            a.@out(dx, al);
        }

        a.mov(dx, 0x1F3);
        a.mov(al, cl);
        a.@out(dx, al);
        a.mov(dx, StatusPort);
        a.mov(al, command);
        a.@out(dx, al);
    }

    private static void WaitDataRequest(Assembler a)
    {
        Label wait = a.CreateLabel();
        a.mov(dx, StatusPort);
        a.Label(ref wait);
        a.@in(al, dx);
        a.test(al, StatusBusy);
        a.jnz(wait);
        a.test(al, StatusDataRequest);
        a.jz(wait);
    }

    private static void WaitNotBusy(Assembler a)
    {
        Label wait = a.CreateLabel();
        a.mov(dx, StatusPort);
        a.Label(ref wait);
        a.@in(al, dx);
        a.test(al, StatusBusy);
        a.jnz(wait);
    }
}
