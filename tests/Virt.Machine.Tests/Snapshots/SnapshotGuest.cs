using System.Security.Cryptography;
using System.Text.Json;
using Iced.Intel;
using Virt.Cpu;
using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Running;
using Virt.Memory;
using Virt.Tests.Shared;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Snapshots;

/// <summary>A guest that computes in RAM and prints to COM1, and helpers to observe a machine exactly.</summary>
internal static class SnapshotGuest
{
    /// <summary>RAM of the test machines: small, so hashing all of it is quick.</summary>
    public const ulong MemorySizeInBytes = 4UL << 20;

    /// <summary>Outer rounds of the guest; each prints one letter.</summary>
    public const int Rounds = 200;

    /// <summary>
    /// Real-mode code at 0000:7C00: each round mixes a running value into 2 KiB at 1000:0000 (DS) (so RAM changes all the
    /// time), then prints 'a' + round % 26 to COM1 polling the line status register (so the UART's timers run), and
    /// after <see cref="Rounds"/> rounds halts for good.
    /// </summary>
    public static byte[] Image { get; } = GuestPrograms.Assemble16(0x7C00, a =>
    {
        PrintingRoundsCode.Emit(a, Rounds, bytesPerRound: 0x800);
        a.cli();
        a.hlt();
    });

    /// <summary>A deterministic machine running <see cref="Image"/>, COM1 into <paramref name="serial"/>.</summary>
    public static MachineBuilder Builder(BufferCharacterSink serial, ulong memorySizeInBytes = MemorySizeInBytes) => new MachineBuilder()
        .WithMemorySize(memorySizeInBytes)
        .WithSerialPort(0, new CharacterSinkSerialBackend(serial))
        .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
        .WithFlatBinary(Image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "snapshot guest"));

    /// <summary>A hash of all of the machine's RAM regions as the guest sees them.</summary>
    public static string RamHash(Machine machine)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (MemoryRegionInfo region in machine.Memory.Regions.Where(r => r.Kind == MemoryRegionKind.Ram))
        {
            byte[] bytes = new byte[region.Range.SizeInBytesMinusOne + 1];
            machine.Memory.Read(region.Range.Start, bytes);
            hash.AppendData(bytes);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>The CPU's whole architectural state as text, so two states compare field by field.</summary>
    public static string CpuText(Machine machine) => JsonSerializer.Serialize(machine.Cpu.SaveState());

    /// <summary>A snapshot of the machine as bytes.</summary>
    public static byte[] Snapshot(Machine machine)
    {
        var stream = new MemoryStream();
        machine.SaveSnapshot(stream);
        return stream.ToArray();
    }
}
