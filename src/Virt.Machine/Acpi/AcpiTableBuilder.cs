using System.Buffers.Binary;
using System.Text;
using Virt.Machine.Acpi.Aml;

namespace Virt.Machine.Acpi;

/// <summary>
/// Generates the ACPI tables of a board (ACPI 6.5, chapter 5.2 "ACPI System Description Tables"): RSDP (revision 2,
/// with both RSDT and XSDT), FACS, DSDT (AML from <see cref="AcpiDsdtBuilder"/>), FADT (revision 6), MADT and HPET.
/// </summary>
public static class AcpiTableBuilder
{
    /// <summary>The size of the common table header (signature, length, revision, checksum, OEM ids, creator).</summary>
    public const int HeaderSizeInBytes = 36;

    /// <summary>The offset of the checksum byte in a table header.</summary>
    public const int HeaderChecksumOffset = 9;

    /// <summary>The size of the FADT of revision 6 (ACPI 6.0 and later).</summary>
    public const int FadtSizeInBytes = 276;

    /// <summary>The size of the FACS.</summary>
    public const int FacsSizeInBytes = 64;

    /// <summary>The size of the HPET table.</summary>
    public const int HpetSizeInBytes = 56;

    /// <summary>The size of an ACPI 2.0+ RSDP.</summary>
    public const int RsdpSizeInBytes = 36;

    /// <summary>The RSDP's first checksum covers its ACPI 1.0 part.</summary>
    public const int RsdpV1SizeInBytes = 20;

    /// <summary>The creator id written in every header.</summary>
    public const string CreatorId = "VIRT";

    private const byte FadtRevision = 6;
    private const byte FadtMinorVersion = 5;
    private const byte MadtRevision = 5;
    private const byte DsdtRevision = 2; // revision 2 and up: 64-bit AML integers
    private const byte FacsVersion = 2;

    // FADT field offsets (ACPI 6.5, Table 5.9 "FADT Format").
    private const int FadtFirmwareControl = 36;
    private const int FadtDsdt = 40;
    private const int FadtSciInterrupt = 46;
    private const int FadtSmiCommand = 48;
    private const int FadtAcpiEnable = 52;
    private const int FadtAcpiDisable = 53;
    private const int FadtPm1aEventBlock = 56;
    private const int FadtPm1aControlBlock = 64;
    private const int FadtPmTimerBlock = 76;
    private const int FadtGpe0Block = 80;
    private const int FadtPm1EventLength = 88;
    private const int FadtPm1ControlLength = 89;
    private const int FadtPmTimerLength = 91;
    private const int FadtGpe0BlockLength = 92;
    private const int FadtC2Latency = 96;
    private const int FadtC3Latency = 98;
    private const int FadtCentury = 108;
    private const int FadtBootArchitecture = 109;
    private const int FadtFlags = 112;
    private const int FadtResetRegister = 116;
    private const int FadtResetValue = 128;
    private const int FadtMinorVersionOffset = 131;
    private const int FadtExtendedDsdt = 140;
    private const int FadtExtendedPm1aEventBlock = 148;
    private const int FadtExtendedPm1aControlBlock = 172;
    private const int FadtExtendedPmTimerBlock = 208;
    private const int FadtExtendedGpe0Block = 220;

    /// <summary>P_LVL2_LAT above 100 µs: C2 is not supported.</summary>
    private const ushort C2NotSupported = 0x0FFF;

    /// <summary>P_LVL3_LAT above 1000 µs: C3 is not supported.</summary>
    private const ushort C3NotSupported = 0x03E9;

    // FADT flags (ACPI 6.5, Table 5.10), the set QEMU's pc machine reports.
    private const uint FlagWbinvd = 1u << 0;
    private const uint FlagProcessorC1 = 1u << 2;
    private const uint FlagSleepButton = 1u << 5; // no fixed-feature sleep button
    private const uint FlagRtcS4 = 1u << 7;
    private const uint FlagResetRegisterSupported = 1u << 10;
    private const uint FlagUsePlatformClock = 1u << 15;

    // IA-PC boot architecture flags (ACPI 6.5, Table 5.11).
    private const ushort BootLegacyDevices = 1 << 0;
    private const ushort Boot8042 = 1 << 1;

    /// <summary>Generic address structure: address space id 1, system I/O.</summary>
    private const byte GasSystemIo = 1;

    /// <summary>Generic address structure: address space id 0, system memory.</summary>
    private const byte GasSystemMemory = 0;

    /// <summary>Generic address structure access size 1: byte.</summary>
    private const byte GasByteAccess = 1;

    // MADT (ACPI 6.5, 5.2.12).
    private const int MadtLocalApicAddress = 36;
    private const int MadtFlags = 40;
    private const uint MadtPcAtCompatible = 1;
    private const byte MadtTypeLocalApic = 0;
    private const byte MadtTypeIoApic = 1;
    private const byte MadtTypeInterruptOverride = 2;
    private const byte MadtTypeLocalApicNmi = 4;
    private const uint LocalApicEnabled = 1;

    /// <summary>MPS INTI flags: polarity active-high (bits 1-0 = 01), trigger level (bits 3-2 = 11).</summary>
    private const ushort IntiActiveHighLevel = 0x000D;

    /// <summary>MPS INTI flags: conforms to the bus (ISA: edge, active-high).</summary>
    private const ushort IntiConforming = 0;

    /// <summary>The processor UID that means all processors in a local APIC NMI entry.</summary>
    private const byte AllProcessors = 0xFF;

    /// <summary>The PC wires NMI to LINT1 of every local APIC.</summary>
    private const byte NmiLint = 1;

    /// <summary>The ISA IRQ of the PIT, which reaches I/O APIC pin 2 (pin 0 takes the 8259's INTR).</summary>
    private const byte PitIrq = 0;
    private const uint PitGsi = 2;

    // FACS (ACPI 6.5, 5.2.10).
    private const int FacsLengthOffset = 4;
    private const int FacsVersionOffset = 32;

    // HPET table (IA-PC HPET specification 1.0a, 3.2.4).
    private const int HpetEventTimerBlockId = 36;
    private const int HpetBaseAddress = 40;

    // RSDP (ACPI 6.5, 5.2.5.3).
    private const int RsdpChecksum = 8;
    private const int RsdpOemId = 9;
    private const int RsdpRevision = 15;
    private const int RsdpRsdtAddress = 16;
    private const int RsdpLength = 20;
    private const int RsdpXsdtAddress = 24;
    private const int RsdpExtendedChecksum = 32;
    private const byte RsdpRevision2 = 2;

    /// <summary>Tables after the FACS start on 8-byte boundaries (the 64-bit pointer fields of the XSDT stay aligned).</summary>
    private const int TableAlignment = 8;

    /// <summary>Generates the tables of <paramref name="platform"/>.</summary>
    /// <param name="platform">The board description.</param>
    /// <returns>The unplaced tables with their fixups.</returns>
    /// <exception cref="ArgumentException">When the description is not valid.</exception>
    public static AcpiTableSet Build(AcpiPlatformDescription platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        platform.Validate();
        var blob = new List<byte>();
        var entries = new List<AcpiTableEntry>();
        var pointers = new List<AcpiPointerFixup>();
        var checksums = new List<AcpiChecksumFixup>();
        const string Tables = AcpiTableSet.TablesFile;

        // The FACS first: the blob is 64-byte aligned and so is the FACS then. It has no checksum.
        int facs = Append(blob, BuildFacs(), TableAlignment);
        entries.Add(new AcpiTableEntry("FACS", facs, FacsSizeInBytes));

        byte[] aml = AmlEncoder.Encode(AcpiDsdtBuilder.BuildBody(platform));
        int dsdt = AddTable(blob, entries, checksums, BuildTable("DSDT", DsdtRevision, platform, aml));

        byte[] fadtBytes = BuildFadt(platform, facs, dsdt);
        int fadt = AddTable(blob, entries, checksums, fadtBytes);
        pointers.Add(new AcpiPointerFixup(Tables, fadt + FadtFirmwareControl, sizeof(uint), Tables));
        pointers.Add(new AcpiPointerFixup(Tables, fadt + FadtDsdt, sizeof(uint), Tables));
        pointers.Add(new AcpiPointerFixup(Tables, fadt + FadtExtendedDsdt, sizeof(ulong), Tables));

        var described = new List<int> { fadt, AddTable(blob, entries, checksums, BuildMadt(platform)) };
        if (platform.HpetPresent)
        {
            described.Add(AddTable(blob, entries, checksums, BuildHpet(platform)));
        }

        byte[] rsdtBody = new byte[described.Count * sizeof(uint)];
        byte[] xsdtBody = new byte[described.Count * sizeof(ulong)];
        for (int i = 0; i < described.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(rsdtBody.AsSpan(i * sizeof(uint)), (uint)described[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(xsdtBody.AsSpan(i * sizeof(ulong)), (ulong)described[i]);
        }

        int rsdt = AddTable(blob, entries, checksums, BuildTable("RSDT", 1, platform, rsdtBody));
        int xsdt = AddTable(blob, entries, checksums, BuildTable("XSDT", 1, platform, xsdtBody));
        for (int i = 0; i < described.Count; i++)
        {
            pointers.Add(new AcpiPointerFixup(Tables, rsdt + HeaderSizeInBytes + (i * sizeof(uint)), sizeof(uint), Tables));
            pointers.Add(new AcpiPointerFixup(Tables, xsdt + HeaderSizeInBytes + (i * sizeof(ulong)), sizeof(ulong), Tables));
        }

        byte[] rsdp = BuildRsdp(platform, rsdt, xsdt);
        pointers.Add(new AcpiPointerFixup(AcpiTableSet.RsdpFile, RsdpRsdtAddress, sizeof(uint), Tables));
        pointers.Add(new AcpiPointerFixup(AcpiTableSet.RsdpFile, RsdpXsdtAddress, sizeof(ulong), Tables));
        checksums.Add(new AcpiChecksumFixup(AcpiTableSet.RsdpFile, RsdpChecksum, 0, RsdpV1SizeInBytes));
        checksums.Add(new AcpiChecksumFixup(AcpiTableSet.RsdpFile, RsdpExtendedChecksum, 0, RsdpSizeInBytes));
        return new AcpiTableSet([.. blob], rsdp, entries, pointers, checksums);
    }

    /// <summary>A table: the common header (checksum left 0) followed by <paramref name="body"/>.</summary>
    /// <param name="signature">Four ASCII characters.</param>
    /// <param name="revision">The table revision.</param>
    /// <param name="platform">The OEM ids.</param>
    /// <param name="body">The bytes after the header.</param>
    /// <returns>The table.</returns>
    public static byte[] BuildTable(string signature, byte revision, AcpiPlatformDescription platform, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(platform);
        byte[] table = new byte[HeaderSizeInBytes + body.Length];
        Encoding.ASCII.GetBytes(signature, table.AsSpan(0, 4));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), (uint)table.Length);
        table[8] = revision;
        Encoding.ASCII.GetBytes(platform.OemId, table.AsSpan(10, 6));
        Encoding.ASCII.GetBytes(platform.OemTableId, table.AsSpan(16, 8));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(24), 1); // OEM revision
        Encoding.ASCII.GetBytes(CreatorId, table.AsSpan(28, 4));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(32), 1); // creator revision
        body.CopyTo(table.AsSpan(HeaderSizeInBytes));
        return table;
    }

    private static int AddTable(List<byte> blob, List<AcpiTableEntry> entries, List<AcpiChecksumFixup> checksums, byte[] table)
    {
        int offset = Append(blob, table, TableAlignment);
        entries.Add(new AcpiTableEntry(Encoding.ASCII.GetString(table, 0, 4), offset, table.Length));
        checksums.Add(new AcpiChecksumFixup(AcpiTableSet.TablesFile, offset + HeaderChecksumOffset, offset, table.Length));
        return offset;
    }

    private static int Append(List<byte> blob, byte[] bytes, int alignment)
    {
        while (blob.Count % alignment != 0)
        {
            blob.Add(0);
        }

        int offset = blob.Count;
        blob.AddRange(bytes);
        return offset;
    }

    private static byte[] BuildFacs()
    {
        byte[] facs = new byte[FacsSizeInBytes];
        "FACS"u8.CopyTo(facs);
        BinaryPrimitives.WriteUInt32LittleEndian(facs.AsSpan(FacsLengthOffset), FacsSizeInBytes);
        facs[FacsVersionOffset] = FacsVersion;
        return facs;
    }

    private static byte[] BuildFadt(AcpiPlatformDescription p, int facsOffset, int dsdtOffset)
    {
        byte[] fadt = BuildTable("FACP", FadtRevision, p, new byte[FadtSizeInBytes - HeaderSizeInBytes]);
        Span<byte> f = fadt;

        // FIRMWARE_CTRL and DSDT hold offsets in the tables blob until linked. X_FIRMWARE_CTRL stays 0: ACPI 6.5 says
        // only one of the two FACS pointers may be non-zero, and the 32-bit one serves every OS.
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtFirmwareControl..], (uint)facsOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtDsdt..], (uint)dsdtOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(f[FadtExtendedDsdt..], (ulong)dsdtOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(f[FadtSciInterrupt..], p.SciInterrupt);
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtSmiCommand..], p.SmiCommandPort);
        f[FadtAcpiEnable] = p.SmiCommandPort == 0 ? (byte)0 : p.AcpiEnableValue;
        f[FadtAcpiDisable] = p.SmiCommandPort == 0 ? (byte)0 : p.AcpiDisableValue;
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtPm1aEventBlock..], p.Pm1aEventBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtPm1aControlBlock..], p.Pm1aControlBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtPmTimerBlock..], p.PmTimerBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtGpe0Block..], p.Gpe0Block);
        f[FadtPm1EventLength] = p.Pm1EventLength;
        f[FadtPm1ControlLength] = p.Pm1ControlLength;
        f[FadtPmTimerLength] = p.PmTimerLength;
        f[FadtGpe0BlockLength] = p.Gpe0BlockLength;
        BinaryPrimitives.WriteUInt16LittleEndian(f[FadtC2Latency..], C2NotSupported);
        BinaryPrimitives.WriteUInt16LittleEndian(f[FadtC3Latency..], C3NotSupported);
        f[FadtCentury] = p.CenturyCmosIndex;
        BinaryPrimitives.WriteUInt16LittleEndian(f[FadtBootArchitecture..], BootLegacyDevices | Boot8042);
        BinaryPrimitives.WriteUInt32LittleEndian(f[FadtFlags..], FlagWbinvd | FlagProcessorC1 | FlagSleepButton | FlagRtcS4 | FlagResetRegisterSupported | FlagUsePlatformClock);
        WriteGas(f[FadtResetRegister..], GasSystemIo, 8, GasByteAccess, p.ResetRegisterPort);
        f[FadtResetValue] = p.ResetValue;
        f[FadtMinorVersionOffset] = FadtMinorVersion;
        WriteGas(f[FadtExtendedPm1aEventBlock..], GasSystemIo, p.Pm1EventLength * 8, 0, p.Pm1aEventBlock);
        WriteGas(f[FadtExtendedPm1aControlBlock..], GasSystemIo, p.Pm1ControlLength * 8, 0, p.Pm1aControlBlock);
        WriteGas(f[FadtExtendedPmTimerBlock..], GasSystemIo, p.PmTimerLength * 8, 0, p.PmTimerBlock);
        WriteGas(f[FadtExtendedGpe0Block..], GasSystemIo, p.Gpe0BlockLength * 8, 0, p.Gpe0Block);
        return fadt;
    }

    /// <summary>Writes a generic address structure (ACPI 6.5, 5.2.3.2): space, bit width, bit offset 0, access size, address.</summary>
    private static void WriteGas(Span<byte> destination, byte space, int bitWidth, byte accessSize, ulong address)
    {
        destination[0] = space;
        destination[1] = (byte)bitWidth;
        destination[2] = 0;
        destination[3] = accessSize;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], address);
    }

    private static byte[] BuildMadt(AcpiPlatformDescription p)
    {
        var body = new List<byte>();
        AddUInt32(body, p.LocalApicAddress);
        AddUInt32(body, MadtPcAtCompatible);
        for (int cpu = 0; cpu < p.CpuCount; cpu++)
        {
            body.AddRange([MadtTypeLocalApic, 8, (byte)cpu, (byte)cpu]);
            AddUInt32(body, LocalApicEnabled);
        }

        body.AddRange([MadtTypeIoApic, 12, p.IoApicId, 0]);
        AddUInt32(body, p.IoApicAddress);
        AddUInt32(body, p.IoApicGsiBase);

        // IRQ0 (the PIT) arrives at GSI 2; the SCI and the PCI interrupt IRQs are level-triggered active-high, which
        // the ISA default (edge, active-high) does not cover: QEMU lists 5, 9, 10 and 11 for the pc machine.
        AddOverride(body, PitIrq, p.IoApicGsiBase + PitGsi, IntiConforming);
        foreach (int irq in p.PciInterruptIrqs.Append(p.SciInterrupt).Where(i => i != PitIrq).Distinct().Order())
        {
            AddOverride(body, (byte)irq, p.IoApicGsiBase + (uint)irq, IntiActiveHighLevel);
        }

        body.AddRange([MadtTypeLocalApicNmi, 6, AllProcessors, 0, 0, NmiLint]);
        return BuildTable("APIC", MadtRevision, p, body.ToArray());
    }

    private static void AddOverride(List<byte> body, byte source, uint gsi, ushort flags)
    {
        body.AddRange([MadtTypeInterruptOverride, 10, 0 /* ISA */, source]);
        AddUInt32(body, gsi);
        body.Add((byte)flags);
        body.Add((byte)(flags >> 8));
    }

    private static byte[] BuildHpet(AcpiPlatformDescription p)
    {
        byte[] hpet = BuildTable("HPET", 1, p, new byte[HpetSizeInBytes - HeaderSizeInBytes]);
        BinaryPrimitives.WriteUInt32LittleEndian(hpet.AsSpan(HpetEventTimerBlockId), p.HpetEventTimerBlockId);
        WriteGas(hpet.AsSpan(HpetBaseAddress), GasSystemMemory, 0, 0, p.HpetAddress);

        // HPET number 0, minimum clock tick 0 and no page protection, as QEMU reports.
        return hpet;
    }

    private static byte[] BuildRsdp(AcpiPlatformDescription p, int rsdtOffset, int xsdtOffset)
    {
        byte[] rsdp = new byte[RsdpSizeInBytes];
        "RSD PTR "u8.CopyTo(rsdp);
        Encoding.ASCII.GetBytes(p.OemId, rsdp.AsSpan(RsdpOemId, 6));
        rsdp[RsdpRevision] = RsdpRevision2;
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(RsdpRsdtAddress), (uint)rsdtOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(RsdpLength), RsdpSizeInBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(rsdp.AsSpan(RsdpXsdtAddress), (ulong)xsdtOffset);
        return rsdp;
    }

    private static void AddUInt32(List<byte> bytes, uint value)
    {
        Span<byte> b = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        bytes.AddRange(b.ToArray());
    }
}
