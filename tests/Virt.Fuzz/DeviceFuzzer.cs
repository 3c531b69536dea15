using Virt.Devices;
using Virt.Memory;

namespace Virt.Fuzz;

/// <summary>
/// Random port and MMIO traffic (random widths, values, reads and writes) against every device of the default board
/// (<see cref="GuestRunner.DefaultBoard"/>: PIC, PIT, port 61h, RTC, two UARTs, 8042 and port 92h, the std VGA's ports,
/// memory window and PCI BARs, POST and debug console ports, isa-debug-exit, the reset control register, the x87 error
/// latch, the PCI configuration ports and the i440FX/PIIX3/PIIX4 functions, the local APIC, I/O APIC and HPET windows,
/// and fw_cfg's ports and DMA interface),
/// interleaved with guest time passing so timers, UART transmit and keyboard events fire in between. Accesses come from
/// the host side (the port space and memory map the CPU uses), so every device sees every width. A .NET exception is a
/// finding; the traffic goes on after it.
/// </summary>
public static class DeviceFuzzer
{
    private const int MaxFindingsPerMachine = 20;

    /// <summary>Where the device fuzzer places the edu card's BAR0 (in the PCI hole, clear of the chipset's windows).</summary>
    private const uint EduBarAddress = 0xE000_0000;

    /// <summary>Runs the traffic of <paramref name="device"/> on a fresh default machine.</summary>
    /// <param name="device">The seed and operation count.</param>
    /// <param name="control">Lets a watchdog stop the run between operations, or null.</param>
    /// <returns>What happened.</returns>
    public static DeviceFuzzResult Run(DeviceFuzzCase device, GuestControl? control = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        var findings = new List<FuzzFinding>();
        using Machine.Machine machine = GuestRunner.DefaultBoard().Build();
        var rng = new FuzzRandom(device.Seed, stream: 4);
        List<ushort> ports = [];
        for (int port = 0; port <= ushort.MaxValue; port++)
        {
            if (machine.Ports.IsRegistered((ushort)port))
            {
                ports.Add((ushort)port);
            }
        }

        // The cards' BARs are unmapped until firmware places them; place the edu card's as firmware would, so its
        // registers are in the MMIO windows fuzzed below (port writes to CF8h/CFCh may move it later, as a guest can).
        machine.Ports.WriteDoubleWord(PciBus.ConfigAddressPort, PciBus.ConfigAddressEnable | ((uint)GuestRunner.EduSlot << 11) | PciConfigurationRegisters.Bar0);
        machine.Ports.WriteDoubleWord(PciBus.ConfigDataPort, EduBarAddress);
        machine.Ports.WriteDoubleWord(PciBus.ConfigAddressPort, PciBus.ConfigAddressEnable | ((uint)GuestRunner.EduSlot << 11) | PciConfigurationRegisters.Command);
        machine.Ports.WriteWord(PciBus.ConfigDataPort, PciConfigurationRegisters.CommandMemorySpace | PciConfigurationRegisters.CommandBusMaster);
        List<AddressRange> mmio = [.. machine.Memory.Regions.Where(r => r.Kind == MemoryRegionKind.Mmio).Select(r => r.Range)];
        var covered = new HashSet<ushort>();
        long done = 0;
        for (int op = 0; op < device.Operations && control?.StopRequested != true; op++)
        {
            try
            {
                Operation(machine, rng, ports, mmio, covered);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (findings.Count < MaxFindingsPerMachine)
                {
                    findings.Add(new FuzzFinding(FindingKind.HostException, null, device with { Operations = op + 1 }, $"operation {op}: {FuzzCampaign.Describe(e)}"));
                }
            }

            done++;
        }

        return new DeviceFuzzResult(done, covered.Count, findings);
    }

    private static void Operation(Machine.Machine machine, FuzzRandom rng, List<ushort> ports, List<AddressRange> mmio, HashSet<ushort> covered)
    {
        int roll = rng.Next(100);
        int width = rng.Next(100) switch
        {
            < 60 => 1,
            < 85 => 2,
            _ => 4,
        };
        if (roll < 75)
        {
            ushort port = rng.Chance(90) ? rng.Pick(ports) : (ushort)rng.NextUInt32();
            covered.Add(port);
            if (rng.Chance(50))
            {
                _ = machine.Ports.Read(port, width);
            }
            else
            {
                machine.Ports.Write(port, width, Value(rng));
            }
        }
        else if (roll < 93 && mmio.Count > 0)
        {
            AddressRange range = rng.Pick(mmio);
            ulong size = range.SizeInBytesMinusOne + 1;
            if (rng.Chance(15))
            {
                width = 8;
            }

            // Mostly inside the window, sometimes straddling its ends.
            ulong offset = rng.Chance(90) ? (ulong)rng.Next((int)Math.Min(size, int.MaxValue)) : (rng.Chance(50) ? size - (ulong)rng.Next(8) : (ulong)-rng.Next(8));
            var address = new PhysicalAddress(range.Start.Value + offset);
            if (rng.Chance(50))
            {
                _ = machine.Memory.Read(address, width);
            }
            else
            {
                machine.Memory.Write(address, width, ((ulong)Value(rng) << 32) | Value(rng));
            }
        }
        else if (roll < 99)
        {
            // Guest time passes: timers, UART transmit, keyboard and RTC events fire.
            machine.Clock.AdvanceByInstructions(rng.Chance(80) ? rng.Next(10_000) : rng.Next(50_000_000));
            machine.Clock.RunDueEvents();
        }
        else
        {
            // A short run of the machine (its guest is a HLT): handles a pending reset or exit request and delivers interrupts.
            _ = machine.Run(1000);
        }
    }

    private static uint Value(FuzzRandom rng) => rng.Next(6) switch
    {
        0 => 0,
        1 => 0xFFFF_FFFF,
        2 => 1u << rng.Next(32),
        3 => (uint)rng.Next(0x100),
        _ => rng.NextUInt32(),
    };
}
