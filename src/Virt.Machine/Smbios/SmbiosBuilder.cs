using System.Buffers.Binary;
using System.Text;

namespace Virt.Machine.Smbios;

/// <summary>
/// Builds SMBIOS 2.8 structures (DMTF DSP0134 3.x keeps the 2.8 layouts): BIOS (type 0, optional), system (1), chassis
/// (3), one processor (4) per CPU, the physical memory array (16), memory devices (17) of at most 16 GiB each, memory
/// array mapped addresses (19) for the RAM below and above 4 GiB, system boot (32) and the end of table (127), with the
/// handles QEMU gives them (type t at t * 100h, plus the instance number).
/// </summary>
public static class SmbiosBuilder
{
    /// <summary>The size of the SMBIOS 2.1+ (32-bit) entry point.</summary>
    public const int AnchorSizeInBytes = 31;

    /// <summary>The largest memory device QEMU describes in one type 17 structure (16 GiB).</summary>
    public const ulong MaxDeviceSizeInBytes = 16UL << 30;

    private const byte MajorVersion = 2;
    private const byte MinorVersion = 8;
    private const byte BcdRevision = 0x28;
    private const int IntermediateAnchorOffset = 16;
    private const int IntermediateChecksumOffset = 21;

    private const byte ChassisTypeOther = 0x01;
    private const byte StateSafe = 0x03;
    private const byte SecurityUnknown = 0x02;
    private const byte WakeUpPowerSwitch = 0x06;
    private const byte ProcessorTypeCentral = 0x03;
    private const byte ProcessorFamilyOther = 0x01;
    private const byte ProcessorPopulatedEnabled = 0x41;
    private const byte ProcessorUpgradeOther = 0x01;
    private const ushort ProcessorCharacteristicsUnknown = 0x0002;
    private const ushort NoHandle = 0xFFFF;
    private const ushort NoErrorInformation = 0xFFFE;
    private const byte LocationOther = 0x01;
    private const byte UseSystemMemory = 0x03;
    private const byte ErrorCorrectionMultiBitEcc = 0x06;
    private const byte FormFactorDimm = 0x09;
    private const byte MemoryTypeRam = 0x07;
    private const ushort TypeDetailOther = 0x0002;
    private const ushort WidthUnknown = 0xFFFF;
    private const uint CapacityUseExtended = 0x8000_0000;
    private const ushort SizeUseExtended = 0x7FFF;
    private const uint AddressUseExtended = 0xFFFF_FFFF;
    private const ushort BiosStartingSegment = 0xE800;
    private const ulong BiosCharacteristicsNotSupported = 1UL << 3;
    private const byte BiosExtensionVirtualMachine = 1 << 4;

    /// <summary>Builds the tables.</summary>
    /// <param name="options">The strings and identifiers.</param>
    /// <param name="ramBelow4GInBytes">The RAM mapped below 4 GiB (from address 0).</param>
    /// <param name="ramAbove4GInBytes">The RAM mapped from 4 GiB up.</param>
    /// <param name="cpuCount">The number of processors (1 to 255).</param>
    /// <param name="cpuidSignature">CPUID leaf 1 EAX, for the processor id.</param>
    /// <param name="cpuidFeaturesEdx">CPUID leaf 1 EDX, for the processor id.</param>
    /// <returns>The entry point and structure table.</returns>
    public static SmbiosTables Build(SmbiosOptions options, ulong ramBelow4GInBytes, ulong ramAbove4GInBytes, int cpuCount, uint cpuidSignature, uint cpuidFeaturesEdx)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(cpuCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cpuCount, byte.MaxValue);
        var structures = new List<byte[]>();
        if (options.BiosVendor is { } vendor)
        {
            var bios = new StructureWriter(0, 0x0000);
            bios.String(vendor);
            bios.String(options.BiosVersion);
            bios.UInt16(BiosStartingSegment);
            bios.String(options.BiosReleaseDate);
            bios.Byte(0); // ROM size: 64 KiB units minus one (firmware fills in)
            bios.UInt64(BiosCharacteristicsNotSupported);
            bios.Byte(0);
            bios.Byte(BiosExtensionVirtualMachine);
            bios.Byte(0); // system BIOS major release
            bios.Byte(0); // minor
            bios.Byte(0xFF); // no embedded controller firmware
            bios.Byte(0xFF);
            structures.Add(bios.Finish());
        }

        var system = new StructureWriter(1, 0x0100);
        system.String(options.Manufacturer);
        system.String(options.ProductName);
        system.String(options.Version);
        system.String(null); // serial number
        system.Bytes(options.Uuid.ToByteArray()); // SMBIOS 2.6+: the first three fields little-endian, as Guid stores them
        system.Byte(WakeUpPowerSwitch);
        system.String(null); // SKU
        system.String(null); // family
        structures.Add(system.Finish());

        var chassis = new StructureWriter(3, 0x0300);
        chassis.String(options.Manufacturer);
        chassis.Byte(ChassisTypeOther);
        chassis.String(options.Version);
        chassis.String(null); // serial
        chassis.String(null); // asset tag
        chassis.Byte(StateSafe); // boot-up state
        chassis.Byte(StateSafe); // power supply state
        chassis.Byte(StateSafe); // thermal state
        chassis.Byte(SecurityUnknown);
        chassis.UInt32(0); // OEM defined
        chassis.Byte(0); // height
        chassis.Byte(0); // power cords
        chassis.Byte(0); // contained elements
        chassis.Byte(0); // element record length
        chassis.String(null); // SKU
        structures.Add(chassis.Finish());

        for (int cpu = 0; cpu < cpuCount; cpu++)
        {
            var processor = new StructureWriter(4, (ushort)(0x0400 + cpu));
            processor.String($"CPU {cpu}");
            processor.Byte(ProcessorTypeCentral);
            processor.Byte(ProcessorFamilyOther);
            processor.String(options.Manufacturer);
            processor.UInt32(cpuidSignature);
            processor.UInt32(cpuidFeaturesEdx);
            processor.String(options.Version);
            processor.Byte(0); // voltage unknown
            processor.UInt16(0); // external clock unknown
            processor.UInt16(options.ProcessorSpeedInMegahertz); // max speed
            processor.UInt16(options.ProcessorSpeedInMegahertz); // current speed
            processor.Byte(ProcessorPopulatedEnabled);
            processor.Byte(ProcessorUpgradeOther);
            processor.UInt16(NoHandle); // L1
            processor.UInt16(NoHandle); // L2
            processor.UInt16(NoHandle); // L3
            processor.String(null); // serial
            processor.String(null); // asset tag
            processor.String(null); // part number
            processor.Byte(1); // cores
            processor.Byte(1); // cores enabled
            processor.Byte(1); // threads
            processor.UInt16(ProcessorCharacteristicsUnknown);
            processor.UInt16(ProcessorFamilyOther); // processor family 2
            structures.Add(processor.Finish());
        }

        ulong total = ramBelow4GInBytes + ramAbove4GInBytes;
        int devices = (int)((total + MaxDeviceSizeInBytes - 1) / MaxDeviceSizeInBytes);
        ulong totalKiB = total >> 10;
        var array = new StructureWriter(16, 0x1000);
        array.Byte(LocationOther);
        array.Byte(UseSystemMemory);
        array.Byte(ErrorCorrectionMultiBitEcc);
        array.UInt32(totalKiB >= CapacityUseExtended ? CapacityUseExtended : (uint)totalKiB);
        array.UInt16(NoErrorInformation);
        array.UInt16((ushort)devices);
        array.UInt64(totalKiB >= CapacityUseExtended ? total : 0);
        structures.Add(array.Finish());

        ulong left = total;
        for (int i = 0; i < devices; i++)
        {
            ulong size = Math.Min(left, MaxDeviceSizeInBytes);
            left -= size;
            ulong mib = size >> 20;
            var device = new StructureWriter(17, (ushort)(0x1100 + i));
            device.UInt16(0x1000); // the array
            device.UInt16(NoErrorInformation);
            device.UInt16(WidthUnknown); // total width
            device.UInt16(WidthUnknown); // data width
            device.UInt16(mib >= SizeUseExtended ? SizeUseExtended : (ushort)mib);
            device.Byte(FormFactorDimm);
            device.Byte(0); // device set
            device.String($"DIMM {i}");
            device.String(null); // bank locator
            device.Byte(MemoryTypeRam);
            device.UInt16(TypeDetailOther);
            device.UInt16(0); // speed unknown
            device.String(options.Manufacturer);
            device.String(null); // serial
            device.String(null); // asset tag
            device.String(null); // part number
            device.Byte(0); // attributes
            device.UInt32(mib >= SizeUseExtended ? (uint)mib : 0);
            device.UInt16(0); // configured speed
            device.UInt16(0); // minimum voltage
            device.UInt16(0); // maximum voltage
            device.UInt16(0); // configured voltage
            structures.Add(device.Finish());
        }

        int mapped = 0;
        foreach ((ulong start, ulong size) in new[] { (0UL, ramBelow4GInBytes), (1UL << 32, ramAbove4GInBytes) })
        {
            if (size == 0)
            {
                continue;
            }

            ulong startKiB = start >> 10;
            ulong endKiB = ((start + size) >> 10) - 1;
            bool extended = endKiB >= AddressUseExtended;
            var map = new StructureWriter(19, (ushort)(0x1300 + mapped++));
            map.UInt32(extended ? AddressUseExtended : (uint)startKiB);
            map.UInt32(extended ? AddressUseExtended : (uint)endKiB);
            map.UInt16(0x1000);
            map.Byte(1); // partition width
            map.UInt64(extended ? start : 0);
            map.UInt64(extended ? start + size - 1 : 0);
            structures.Add(map.Finish());
        }

        var boot = new StructureWriter(32, 0x2000);
        boot.Bytes(new byte[6]); // reserved
        boot.Byte(0); // no errors detected
        structures.Add(boot.Finish());
        structures.Add(new StructureWriter(127, 0x7F00).Finish());

        byte[] tables = [.. structures.SelectMany(s => s)];
        byte[] anchor = new byte[AnchorSizeInBytes];
        "_SM_"u8.CopyTo(anchor);
        anchor[5] = AnchorSizeInBytes;
        anchor[6] = MajorVersion;
        anchor[7] = MinorVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(anchor.AsSpan(8), (ushort)structures.Max(s => s.Length));
        "_DMI_"u8.CopyTo(anchor.AsSpan(IntermediateAnchorOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(anchor.AsSpan(22), (ushort)tables.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(anchor.AsSpan(24), 0); // the firmware places the table and fills this in
        BinaryPrimitives.WriteUInt16LittleEndian(anchor.AsSpan(28), (ushort)structures.Count);
        anchor[30] = BcdRevision;
        anchor[IntermediateChecksumOffset] = Checksum(anchor.AsSpan(IntermediateAnchorOffset, AnchorSizeInBytes - IntermediateAnchorOffset));
        anchor[4] = Checksum(anchor);
        return new SmbiosTables(anchor, tables, structures.Count);
    }

    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)(0 - sum);
    }

    /// <summary>Writes one structure: the formatted area (type, length, handle, fields), then its strings.</summary>
    private sealed class StructureWriter
    {
        private readonly List<byte> _formatted = [];
        private readonly List<string> _strings = [];

        public StructureWriter(byte type, ushort handle)
        {
            _formatted.Add(type);
            _formatted.Add(0); // length, set in Finish
            UInt16(handle);
        }

        public void Byte(byte value) => _formatted.Add(value);

        public void Bytes(byte[] values) => _formatted.AddRange(values);

        public void UInt16(ushort value)
        {
            _formatted.Add((byte)value);
            _formatted.Add((byte)(value >> 8));
        }

        public void UInt32(uint value)
        {
            UInt16((ushort)value);
            UInt16((ushort)(value >> 16));
        }

        public void UInt64(ulong value)
        {
            UInt32((uint)value);
            UInt32((uint)(value >> 32));
        }

        /// <summary>A string field: its 1-based number in the string set, or 0 for none.</summary>
        public void String(string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                _formatted.Add(0);
                return;
            }

            _strings.Add(value);
            _formatted.Add((byte)_strings.Count);
        }

        public byte[] Finish()
        {
            _formatted[1] = (byte)_formatted.Count;
            var bytes = new List<byte>(_formatted);
            foreach (string s in _strings)
            {
                bytes.AddRange(Encoding.ASCII.GetBytes(s));
                bytes.Add(0);
            }

            // The string set ends with a second NUL; a structure without strings has two NULs.
            if (_strings.Count == 0)
            {
                bytes.Add(0);
            }

            bytes.Add(0);
            return [.. bytes];
        }
    }
}
