using System.Buffers.Binary;
using System.Text;
using Virt.Machine.Acpi;
using Xunit;

namespace Virt.Machine.Tests.Acpi;

/// <summary>The generated tables against the layouts of ACPI 6.5 chapter 5.2 (offsets written out here from the spec tables).</summary>
public sealed class AcpiTableBuilderTests
{
    private const ulong TablesAddress = 0x07FF_0000;
    private const ulong RsdpAddress = 0x000F_5A00;

    private static readonly AcpiPlatformDescription s_platform = new() { CpuCount = 2, PciHoleStart = 0x0800_0000 };

    private readonly AcpiTableSet _set = AcpiTableBuilder.Build(s_platform);
    private readonly byte[] _tables;
    private readonly byte[] _rsdp;

    public AcpiTableBuilderTests() => (_tables, _rsdp) = _set.Link(TablesAddress, RsdpAddress);

    [Theory]
    [InlineData("DSDT")]
    [InlineData("FACP")]
    [InlineData("APIC")]
    [InlineData("HPET")]
    [InlineData("RSDT")]
    [InlineData("XSDT")]
    public void Every_table_has_its_length_in_the_header_and_sums_to_zero(string signature)
    {
        ReadOnlySpan<byte> table = Table(signature);
        Assert.Equal(signature, Encoding.ASCII.GetString(table[..4]));
        Assert.Equal((uint)table.Length, BinaryPrimitives.ReadUInt32LittleEndian(table[4..]));
        Assert.Equal(0, Sum(table));
        Assert.Equal("VIRT  ", Encoding.ASCII.GetString(table.Slice(10, 6)));
        Assert.Equal("VIRTPC  ", Encoding.ASCII.GetString(table.Slice(16, 8)));
    }

    [Fact]
    public void Rsdp_is_revision_2_with_both_checksums_and_points_at_rsdt_and_xsdt()
    {
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(_rsdp, 0, 8));
        Assert.Equal(0, Sum(_rsdp.AsSpan(0, 20)));  // ACPI 1.0 checksum over the first 20 bytes
        Assert.Equal(0, Sum(_rsdp.AsSpan(0, 36)));  // extended checksum over all 36
        Assert.Equal(2, _rsdp[15]);
        Assert.Equal(36u, BinaryPrimitives.ReadUInt32LittleEndian(_rsdp.AsSpan(20)));
        Assert.Equal(AddressOf("RSDT"), BinaryPrimitives.ReadUInt32LittleEndian(_rsdp.AsSpan(16)));
        Assert.Equal(AddressOf("XSDT"), BinaryPrimitives.ReadUInt64LittleEndian(_rsdp.AsSpan(24)));
    }

    [Fact]
    public void Rsdt_and_xsdt_list_the_fadt_madt_and_hpet()
    {
        ReadOnlySpan<byte> rsdt = Table("RSDT");
        ReadOnlySpan<byte> xsdt = Table("XSDT");
        ulong[] expected = [AddressOf("FACP"), AddressOf("APIC"), AddressOf("HPET")];
        Assert.Equal(36 + (3 * 4), rsdt.Length);
        Assert.Equal(36 + (3 * 8), xsdt.Length);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i], BinaryPrimitives.ReadUInt32LittleEndian(rsdt[(36 + (4 * i))..]));
            Assert.Equal(expected[i], BinaryPrimitives.ReadUInt64LittleEndian(xsdt[(36 + (8 * i))..]));
        }
    }

    [Fact]
    public void Fadt_fields_sit_at_their_spec_offsets()
    {
        ReadOnlySpan<byte> f = Table("FACP");
        Assert.Equal(276, f.Length);                                                // revision 6 size
        Assert.Equal(6, f[8]);
        Assert.Equal(AddressOf("FACS"), BinaryPrimitives.ReadUInt32LittleEndian(f[36..]));   // FIRMWARE_CTRL
        Assert.Equal(AddressOf("DSDT"), BinaryPrimitives.ReadUInt32LittleEndian(f[40..]));   // DSDT
        Assert.Equal(AddressOf("DSDT"), BinaryPrimitives.ReadUInt64LittleEndian(f[140..]));  // X_DSDT
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(f[132..]));               // X_FIRMWARE_CTRL unused
        Assert.Equal(9, BinaryPrimitives.ReadUInt16LittleEndian(f[46..]));                   // SCI_INT
        Assert.Equal(0xB2u, BinaryPrimitives.ReadUInt32LittleEndian(f[48..]));               // SMI_CMD
        Assert.Equal(0xF1, f[52]);                                                           // ACPI_ENABLE
        Assert.Equal(0xF0, f[53]);                                                           // ACPI_DISABLE
        Assert.Equal(0x600u, BinaryPrimitives.ReadUInt32LittleEndian(f[56..]));              // PM1a_EVT_BLK
        Assert.Equal(0x604u, BinaryPrimitives.ReadUInt32LittleEndian(f[64..]));              // PM1a_CNT_BLK
        Assert.Equal(0x608u, BinaryPrimitives.ReadUInt32LittleEndian(f[76..]));              // PM_TMR_BLK
        Assert.Equal(0xAFE0u, BinaryPrimitives.ReadUInt32LittleEndian(f[80..]));             // GPE0_BLK
        Assert.Equal(new byte[] { 4, 2, 0, 4, 4 }, f.Slice(88, 5).ToArray());                // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN, GPE0_BLK_LEN
        Assert.Equal(0x32, f[108]);                                                          // CENTURY
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(f[109..]));                  // IAPC_BOOT_ARCH: legacy devices, 8042
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(f[112..]);
        Assert.Equal(0x84A5u, flags);                                                        // WBINVD, PROC_C1, SLP_BUTTON, RTC_S4, RESET_REG_SUP, USE_PLATFORM_CLOCK
        Assert.Equal(new byte[] { 1, 8, 0, 1 }, f.Slice(116, 4).ToArray());                  // RESET_REG: system I/O, 8 bits, byte access
        Assert.Equal(0xCF9UL, BinaryPrimitives.ReadUInt64LittleEndian(f[120..]));
        Assert.Equal(6, f[128]);                                                             // RESET_VALUE
        Assert.Equal(0x608UL, BinaryPrimitives.ReadUInt64LittleEndian(f[212..]));            // X_PM_TMR_BLK address
        Assert.Equal(32, f[209]);                                                            // X_PM_TMR_BLK bit width
    }

    [Fact]
    public void Facs_is_64_byte_aligned_without_checksum()
    {
        AcpiTableEntry facs = _set.GetEntry("FACS");
        Assert.Equal(0UL, (TablesAddress + (ulong)facs.Offset) % 64);
        Assert.Equal("FACS", Encoding.ASCII.GetString(_tables, facs.Offset, 4));
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32LittleEndian(_tables.AsSpan(facs.Offset + 4)));
        Assert.Equal(2, _tables[facs.Offset + 32]);
    }

    [Fact]
    public void Madt_lists_cpus_io_apic_overrides_and_nmi()
    {
        ReadOnlySpan<byte> m = Table("APIC");
        Assert.Equal(0xFEE0_0000u, BinaryPrimitives.ReadUInt32LittleEndian(m[36..]));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(m[40..])); // PCAT_COMPAT
        var entries = new List<byte[]>();
        for (int offset = 44; offset < m.Length; offset += m[offset + 1])
        {
            entries.Add(m.Slice(offset, m[offset + 1]).ToArray());
        }

        // Two local APICs (UID = APIC id, enabled), the I/O APIC, overrides for IRQ 0 and 5, 9, 10, 11, the NMI.
        Assert.Equal([0, 0, 1, 2, 2, 2, 2, 2, 4], entries.Select(e => (int)e[0]));
        Assert.Equal(new byte[] { 0, 8, 1, 1, 1, 0, 0, 0 }, entries[1]);
        Assert.Equal(0xFEC0_0000u, BinaryPrimitives.ReadUInt32LittleEndian(entries[2].AsSpan(4)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(entries[2].AsSpan(8)));
        Assert.Equal((byte)0, entries[3][3]);                                                 // IRQ0 ...
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(entries[3].AsSpan(4)));      // ... to GSI 2
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(entries[3].AsSpan(8)));       // conforming
        Assert.Equal([5, 9, 10, 11], entries.Skip(4).Take(4).Select(e => (int)e[3]));
        Assert.All(entries.Skip(4).Take(4), e => Assert.Equal(0x0D, BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(8)))); // level, active-high
        Assert.Equal(new byte[] { 4, 6, 0xFF, 0, 0, 1 }, entries[8]);                         // all processors, LINT1
    }

    [Fact]
    public void Hpet_table_gives_the_block_id_and_base_address()
    {
        ReadOnlySpan<byte> h = Table("HPET");
        Assert.Equal(56, h.Length);
        Assert.Equal(0x8086_A201u, BinaryPrimitives.ReadUInt32LittleEndian(h[36..]));
        Assert.Equal(0, h[40]); // system memory
        Assert.Equal(0xFED0_0000UL, BinaryPrimitives.ReadUInt64LittleEndian(h[44..]));
    }

    [Fact]
    public void Without_hpet_there_is_no_hpet_table()
    {
        AcpiTableSet set = AcpiTableBuilder.Build(new AcpiPlatformDescription { HpetPresent = false });
        Assert.DoesNotContain(set.Entries, e => e.Signature == "HPET");
        Assert.Equal(36 + 8, set.GetEntry("RSDT").Length);
    }

    [Fact]
    public void Dsdt_is_revision_2_and_its_aml_is_the_encoded_builder_output()
    {
        ReadOnlySpan<byte> d = Table("DSDT");
        Assert.Equal(2, d[8]);
        byte[] aml = Virt.Machine.Acpi.Aml.AmlEncoder.Encode(AcpiDsdtBuilder.BuildBody(s_platform));
        Assert.Equal(aml, d[36..].ToArray());
    }

    [Fact]
    public void Table_loader_commands_allocate_then_patch_then_checksum()
    {
        byte[] loader = AcpiTableLoader.Build(_set);
        Assert.Equal(0, loader.Length % 128);
        uint[] commands = [.. Enumerable.Range(0, loader.Length / 128).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(loader.AsSpan(i * 128)))];
        Assert.Equal([1u, 1u], commands.Take(2));
        Assert.Equal(_set.Pointers.Count, commands.Count(c => c == 2));
        Assert.Equal(_set.Checksums.Count, commands.Count(c => c == 3));
        Assert.True(Array.LastIndexOf(commands, 2u) < Array.IndexOf(commands, 3u));

        // ALLOCATE etc/acpi/rsdp: 16-byte alignment in the F-segment zone (2).
        Span<byte> rsdp = loader.AsSpan(128);
        Assert.Equal("etc/acpi/rsdp", Encoding.ASCII.GetString(rsdp.Slice(4, 56)).TrimEnd('\0'));
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(rsdp[60..]));
        Assert.Equal(2, rsdp[64]);
    }

    [Fact]
    public void Table_loader_commands_run_as_seabios_runs_them_give_the_linked_tables()
    {
        // A loader written from the command layout (QEMU's bios-linker-loader): 128-byte commands, names of 56 bytes.
        var files = new Dictionary<string, (byte[] Bytes, ulong Address)>
        {
            ["etc/acpi/tables"] = (_set.Tables.ToArray(), 0),
            ["etc/acpi/rsdp"] = (_set.Rsdp.ToArray(), 0),
        };
        byte[] loader = AcpiTableLoader.Build(_set);
        for (int offset = 0; offset < loader.Length; offset += 128)
        {
            Span<byte> c = loader.AsSpan(offset, 128);
            int commandOffset = offset;
            string Name(int at) => Encoding.ASCII.GetString(loader, commandOffset + at, 56).TrimEnd('\0');
            switch (BinaryPrimitives.ReadUInt32LittleEndian(c))
            {
                case 1:
                    string file = Name(4);
                    files[file] = (files[file].Bytes, c[64] == 2 ? RsdpAddress : TablesAddress);
                    break;
                case 2:
                {
                    byte[] destination = files[Name(4)].Bytes;
                    ulong source = files[Name(60)].Address;
                    int at = (int)BinaryPrimitives.ReadUInt32LittleEndian(c[116..]);
                    if (c[120] == 4)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(destination.AsSpan(at), (uint)(BinaryPrimitives.ReadUInt32LittleEndian(destination.AsSpan(at)) + source));
                    }
                    else
                    {
                        Assert.Equal(8, c[120]);
                        BinaryPrimitives.WriteUInt64LittleEndian(destination.AsSpan(at), BinaryPrimitives.ReadUInt64LittleEndian(destination.AsSpan(at)) + source);
                    }

                    break;
                }

                case 3:
                {
                    byte[] bytes = files[Name(4)].Bytes;
                    int checksum = (int)BinaryPrimitives.ReadUInt32LittleEndian(c[60..]);
                    int start = (int)BinaryPrimitives.ReadUInt32LittleEndian(c[64..]);
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(c[68..]);
                    bytes[checksum] -= Sum(bytes.AsSpan(start, length)); // SeaBIOS: subtract the sum, so the range sums to 0
                    break;
                }

                default:
                    Assert.Fail($"Unknown loader command at {offset}.");
                    break;
            }
        }

        Assert.Equal(_tables, files["etc/acpi/tables"].Bytes);
        Assert.Equal(_rsdp, files["etc/acpi/rsdp"].Bytes);
    }

    [Fact]
    public void Link_refuses_misaligned_addresses()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _set.Link(TablesAddress + 8, RsdpAddress));
        Assert.Throws<ArgumentOutOfRangeException>(() => _set.Link(TablesAddress, RsdpAddress + 4));
    }

    [Fact]
    public void Bad_descriptions_are_refused_naming_the_field()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => AcpiTableBuilder.Build(new AcpiPlatformDescription { CpuCount = 0 }));
        Assert.Contains("CpuCount", e.Message, StringComparison.Ordinal);
    }

    private ReadOnlySpan<byte> Table(string signature)
    {
        AcpiTableEntry entry = _set.GetEntry(signature);
        return _tables.AsSpan(entry.Offset, entry.Length);
    }

    private ulong AddressOf(string signature) => TablesAddress + (ulong)_set.GetEntry(signature).Offset;

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }
}
