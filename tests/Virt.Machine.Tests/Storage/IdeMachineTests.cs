using System.Buffers.Binary;
using Iced.Intel;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Storage;

/// <summary>Guests reach IDE disks through <see cref="MachineBuilder.WithIdeDrive"/> by port I/O, on the pc board and on the ISA board.</summary>
public sealed class IdeMachineTests
{
    private const uint CodeAddress = 0x10000;
    private const uint Results = 0x20000;
    private const byte ExitValue = 0x21;

    /// <summary>A disk whose sector n holds n in every dword.</summary>
    private static MemoryBlockDevice NumberedDisk(int sectors)
    {
        byte[] data = new byte[sectors * 512];
        for (int i = 0; i < data.Length; i += 4)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i), i / 512);
        }

        return new MemoryBlockDevice(data);
    }

    private static void ConfigWrite(Assembler a, int register, int size, uint value)
    {
        a.mov(dx, 0xCF8);
        a.mov(eax, 0x8000_0000u | (1u << 11) | (1u << 8) | (uint)(register & 0xFC));
        a.@out(dx, eax);
        a.mov(dx, (ushort)(0xCFC + (register & 3)));
        a.mov(eax, value);
        if (size == 2)
        {
            a.@out(dx, ax);
        }
        else
        {
            a.@out(dx, eax);
        }
    }

    /// <summary>READ SECTORS of sector 3 on the primary master by polling the status, then REP INSW into <see cref="Results"/>; WRITE SECTORS of the same data to sector 5.</summary>
    private static void ReadAndWriteSector(Assembler a)
    {
        Label waitRead = a.CreateLabel();
        Label waitWrite = a.CreateLabel();
        Label waitDone = a.CreateLabel();
        foreach ((ushort port, byte value) in new (ushort, byte)[] { (0x1F6, 0xE0), (0x1F2, 1), (0x1F3, 3), (0x1F4, 0), (0x1F5, 0), (0x1F7, 0x20) })
        {
            a.mov(dx, port);
            a.mov(al, value);
            a.@out(dx, al);
        }

        a.Label(ref waitRead);
        a.@in(al, dx);
        a.test(al, 0x80);
        a.jnz(waitRead);
        a.test(al, 0x08);
        a.jz(waitRead);
        a.mov(__byte_ptr[Results + 0x400], al);            // the status with DRQ
        a.mov(dx, 0x1F0);
        a.mov(edi, Results);
        a.mov(ecx, 256);
        a.cld();
        a.rep.insw();

        foreach ((ushort port, byte value) in new (ushort, byte)[] { (0x1F3, 5), (0x1F7, 0x30) })
        {
            a.mov(dx, port);
            a.mov(al, value);
            a.@out(dx, al);
        }

        a.Label(ref waitWrite);
        a.@in(al, dx);
        a.test(al, 0x08);
        a.jz(waitWrite);
        a.mov(dx, 0x1F0);
        a.mov(esi, Results);
        a.mov(ecx, 256);
        a.rep.outsw();
        a.mov(dx, 0x1F7);
        a.Label(ref waitDone);
        a.@in(al, dx);
        a.test(al, 0x80);
        a.jnz(waitDone);
        a.mov(__byte_ptr[Results + 0x401], al);            // the status after the write
        a.mov(dx, 0x501);
        a.mov(al, ExitValue);
        a.@out(dx, al);
        a.hlt();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AGuestReadsAndWritesASectorByPortIo(bool pciBoard)
    {
        byte[] code = GuestPrograms.Assemble32(CodeAddress, a =>
        {
            if (pciBoard)
            {
                // As firmware does: the IDE function's I/O space and the primary channel's decode enable bit.
                ConfigWrite(a, 0x40, 2, 0x8000);
                ConfigWrite(a, 0x04, 2, 0x0001);
            }

            ReadAndWriteSector(a);
        });
        MemoryBlockDevice disk = NumberedDisk(64);
        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithPciBus(pciBoard)
            .WithIdeDrive(0, disk)
            .WithDebugExit()
            .WithFlatBinary(code, new PhysicalAddress(CodeAddress), BootEntryState.FlatProtectedMode(CodeAddress, "ide guest"))
            .Build();

        MachineStopReason stop = machine.Run(maxInstructions: 1_000_000);

        Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
        Assert.Equal(ProcessExitStatuses.ForDebugExit(ExitValue), stop.ExitCode);
        Assert.Equal(3u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Results)));
        Assert.Equal(3u, machine.Memory.ReadDoubleWord(new PhysicalAddress(Results + 508)));
        Assert.Equal(0x58, machine.Memory.ReadByte(new PhysicalAddress(Results + 0x400)));
        Assert.Equal(0x50, machine.Memory.ReadByte(new PhysicalAddress(Results + 0x401)));
        byte[] sector5 = new byte[512];
        disk.Read(5 * 512, sector5);
        Assert.All(Enumerable.Range(0, 128), i => Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(sector5.AsSpan(4 * i))));
    }

    [Fact]
    public void ThePcBoardHasTheIdeFunctionAndTheCmosDescribesTheDisk()
    {
        using Machine machine = new MachineBuilder()
            .WithPciBus()
            .WithIdeDrive(0, NumberedDisk(8 * 16 * 63))
            .WithIdeDrive(2, new MemoryBlockDevice(2048 * 4, sectorSize: 2048), IdeMediaKind.Cdrom)
            .Build();
        Piix3Ide ide = machine.FindDevice<Piix3Ide>()!;
        Assert.Equal(new PciFunctionAddress(0, 1, 1), ide.Address);
        Assert.NotNull(ide.GetMedium(2));
        Rtc146818 rtc = machine.FindDevice<Rtc146818>()!;
        Assert.Equal(0xF0, rtc.ReadCmos(CmosLayout.HardDiskTypes));
        Assert.Equal(8, rtc.ReadCmos(CmosLayout.HardDisk0Parameters));

        MachineState state = machine.SaveState();
        Assert.IsType<Piix3IdeState>(state.Devices[ide.Name]);
        machine.RestoreState(state);
    }

    [Fact]
    public void BuilderRefusesBadDrives()
    {
        var builder = new MachineBuilder().WithBoard(MachineBoard.IsaPc);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.WithIdeDrive(4, new MemoryBlockDevice(512)));
        ArgumentException e = Assert.Throws<ArgumentException>(() => builder.WithIdeDrive(1, new MemoryBlockDevice(2048, sectorSize: 2048)));
        Assert.Contains("WithIdeDrive(1)", e.Message, StringComparison.Ordinal);
        using Machine isa = builder.WithIdeDrive(0, new MemoryBlockDevice(512)).Build();
        Assert.NotNull(isa.FindDevice<IsaIdeController>());
        Assert.Null(isa.FindDevice<Piix3Ide>());
    }
}
