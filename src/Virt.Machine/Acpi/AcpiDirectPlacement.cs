using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Machine.Acpi;

/// <summary>
/// Places ACPI tables for a guest started without firmware (direct kernel boot), doing what SeaBIOS's table loader
/// would: the tables at the top of the RAM below the PCI hole, reported as ACPI memory (e820 type 3) so the kernel
/// neither overwrites them nor loses the RAM for good, and the RSDP in the BIOS area (E0000h-FFFFFh) where the OS
/// scans for it on a 16-byte boundary (ACPI 6.5, 5.2.5.1).
/// </summary>
public static class AcpiDirectPlacement
{
    /// <summary>Where the RSDP goes: the start of the system BIOS area, which the PC's e820 map reports reserved.</summary>
    public const ulong RsdpAddress = 0xF_0000;

    /// <summary>The start of the BIOS area the OS scans (the machine maps RAM there when it has no firmware).</summary>
    public const ulong BiosAreaStart = 0xE_0000;

    /// <summary>The size of the BIOS area (E0000h-FFFFFh).</summary>
    public const ulong BiosAreaSizeInBytes = 0x2_0000;

    private const ulong PageSize = 4096;

    // PAM fields for E0000h-FFFFFh (82441FX datasheet, 3.2.18): PAM5 and PAM6 hold E0000h-EFFFFh in four 16 KiB
    // segments (low nibble first), PAM0 bits 5:4 hold F0000h-FFFFFh. 11b: reads and writes to DRAM; 01b: reads only.
    private const int Pam5 = I440fxHostBridge.Pam0 + 5;
    private const int Pam6 = I440fxHostBridge.Pam0 + 6;
    private const uint PamBothSegmentsReadWrite = 0x33;
    private const uint PamBothSegmentsReadOnly = 0x11;
    private const uint Pam0HighSegmentReadWrite = 0x30;
    private const uint Pam0HighSegmentReadOnly = 0x10;

    /// <summary>
    /// Takes the space for the tables from the top of the RAM entry that starts at 1 MiB and marks it as ACPI memory.
    /// </summary>
    /// <param name="map">The e820 map (as <see cref="E820Map.CreatePc"/> gives it).</param>
    /// <param name="tables">The tables to place.</param>
    /// <returns>The new map (sorted) and the tables' address.</returns>
    /// <exception cref="ArgumentException">When there is no RAM from 1 MiB or it is too small to give up the space.</exception>
    public static (IReadOnlyList<E820Entry> Map, ulong TablesAddress) Reserve(IReadOnlyList<E820Entry> map, AcpiTableSet tables)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(tables);
        ulong size = ((ulong)tables.Tables.Length + PageSize - 1) & ~(PageSize - 1);
        E820Entry? low = E820Map.FindRam(map, new PhysicalAddress(E820Map.ExtendedMemoryStart));
        if (low is not { } entry || entry.Start.Value != E820Map.ExtendedMemoryStart || entry.SizeInBytes <= size)
        {
            throw new ArgumentException($"The ACPI tables ({size} bytes) need RAM above 1 MiB to be placed in; give the guest at least 2 MiB.", nameof(map));
        }

        ulong address = entry.Start.Value + entry.SizeInBytes - size;
        var result = map.Where(e => e != entry).ToList();
        result.Add(new E820Entry(entry.Start, address - entry.Start.Value, E820EntryType.Ram));
        result.Add(new E820Entry(new PhysicalAddress(address), size, E820EntryType.Acpi));
        return ([.. result.OrderBy(e => e.Start.Value)], address);
    }

    /// <summary>Links the tables for their addresses and writes them and the RSDP to guest memory.</summary>
    /// <param name="memory">Guest memory (RAM must back both places).</param>
    /// <param name="tables">The tables.</param>
    /// <param name="tablesAddress">The address <see cref="Reserve"/> gave.</param>
    public static void Write(IGuestMemory memory, AcpiTableSet tables, ulong tablesAddress)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(tables);
        (byte[] linkedTables, byte[] rsdp) = tables.Link(tablesAddress, RsdpAddress);
        memory.Write(new PhysicalAddress(tablesAddress), linkedTables);
        memory.Write(new PhysicalAddress(RsdpAddress), rsdp);
    }

    /// <summary>
    /// <see cref="Write(IGuestMemory, AcpiTableSet, ulong)"/> for the PCI board, where E0000h-FFFFFh is shadowable ROM
    /// under the 440FX's PAM registers and no firmware backs it: does what SeaBIOS does at the end of its POST (it
    /// copies itself into the shadow, then makes the BIOS area read-only): opens the shadow RAM of E0000h-FFFFFh for
    /// reading and writing, writes the tables and the RSDP, and leaves the area read-only shadow RAM, so the OS finds the
    /// RSDP there and cannot overwrite it.
    /// </summary>
    /// <param name="memory">Guest memory.</param>
    /// <param name="hostBridge">The board's host bridge, whose PAM registers route the BIOS area.</param>
    /// <param name="tables">The tables.</param>
    /// <param name="tablesAddress">The address <see cref="Reserve"/> gave.</param>
    public static void Write(IGuestMemory memory, I440fxHostBridge hostBridge, AcpiTableSet tables, ulong tablesAddress)
    {
        ArgumentNullException.ThrowIfNull(hostBridge);
        hostBridge.WriteConfiguration(Pam5, 1, PamBothSegmentsReadWrite);
        hostBridge.WriteConfiguration(Pam6, 1, PamBothSegmentsReadWrite);
        hostBridge.WriteConfiguration(I440fxHostBridge.Pam0, 1, Pam0HighSegmentReadWrite);
        Write(memory, tables, tablesAddress);
        hostBridge.WriteConfiguration(Pam5, 1, PamBothSegmentsReadOnly);
        hostBridge.WriteConfiguration(Pam6, 1, PamBothSegmentsReadOnly);
        hostBridge.WriteConfiguration(I440fxHostBridge.Pam0, 1, Pam0HighSegmentReadOnly);
    }
}
