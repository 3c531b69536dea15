using FsCheck.Xunit;
using Virt.Machine.Acpi;
using Virt.Machine.Acpi.Aml;
using Xunit;

namespace Virt.Machine.Tests.Acpi.Aml;

public sealed class AmlEncoderTests
{
    [Theory]
    [InlineData(0UL, "00")]                              // ZeroOp
    [InlineData(1UL, "01")]                              // OneOp
    [InlineData(ulong.MaxValue, "FF")]                   // OnesOp (64-bit in a revision-2 block)
    [InlineData(2UL, "0A02")]                            // BytePrefix
    [InlineData(0xFFUL, "0AFF")]
    [InlineData(0x100UL, "0B0001")]                      // WordPrefix, little-endian
    [InlineData(0x10000UL, "0C00000100")]                // DWordPrefix
    [InlineData(0xFFFF_FFFFUL, "0CFFFFFFFF")]
    [InlineData(0x1_0000_0000UL, "0E0000000001000000")]  // QWordPrefix
    public void Integers_take_their_shortest_encoding(ulong value, string expected)
    {
        var bytes = new List<byte>();
        AmlEncoder.EncodeInteger(value, bytes);
        Assert.Equal(expected, Convert.ToHexString([.. bytes]));
    }

    [Theory]
    [InlineData(0, "01")]          // one byte: the length counts itself
    [InlineData(62, "3F")]         // 63, the largest one-byte value
    [InlineData(63, "4104")]       // 65 = 41h: lead byte 40h | low nibble 1, then 41h >> 4 = 04h
    [InlineData(4093, "4FFF")]     // 4095 = FFFh, the largest two-byte value
    [InlineData(4094, "810001")]   // 4097 = 1001h in three bytes: 80h | nibble 1, then 00h, 01h
    public void Package_lengths_take_the_fewest_bytes(int bodyLength, string expected)
    {
        var bytes = new List<byte>();
        AmlEncoder.EncodePackageLength(bodyLength, bytes);
        Assert.Equal(expected, Convert.ToHexString([.. bytes]));
        (int value, int size) = AmlDecoder.DecodePackageLength([.. bytes], 0);
        Assert.Equal(bodyLength + size, value);
        Assert.Equal(bytes.Count, size);
    }

    [Theory]
    [InlineData("_SB", "5F53425F")]
    [InlineData("\\_SB.PCI0", "5C2E5F5342 5F50434930")]
    [InlineData("\\_SB.PCI0.ISA.PRQ0", "5C2F045F5342 5F50434930 4953415F 50525130")]
    [InlineData("^^LNKA", "5E5E4C4E4B41")]
    [InlineData("\\", "5C00")]
    public void Name_strings_use_dual_and_multi_name_prefixes(string path, string expected)
    {
        var bytes = new List<byte>();
        AmlNameString.Encode(path, bytes);
        Assert.Equal(expected.Replace(" ", string.Empty, StringComparison.Ordinal), Convert.ToHexString([.. bytes]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("TOOLONG")]
    [InlineData("1ABC")]
    [InlineData("a")]
    public void Bad_name_segments_are_refused(string segment) => Assert.Throws<ArgumentException>(() => AmlNameString.NormalizeSegment(segment));

    [Theory]
    [InlineData("PNP0A03", 0x030AD041u)] // the value iasl emits for EisaId ("PNP0A03")
    [InlineData("PNP0C0F", 0x0F0CD041u)]
    [InlineData("PNP0303", 0x0303D041u)]
    public void Eisa_ids_compress_as_asl_does(string id, uint expected) => Assert.Equal(expected, AmlEisaId.Encode(id));

    [Fact]
    public void Method_encodes_flags_and_body()
    {
        // Method (M000, 2, Serialized) { Return (Arg1) }: 14, length 8 (itself, the name, the flags and two body bytes), "M000", flags 2 | 8, A4 69
        byte[] bytes = AmlEncoder.Encode([new AmlMethod("M000", 2, serialized: true, [new AmlOperation(AmlOpcode.Return, new AmlArgument(1))])]);
        Assert.Equal("14084D3030300AA469", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Resource_template_descriptors_have_their_spec_layout()
    {
        byte[] data = new AmlResourceTemplate()
            .Io(0x3F8, 0x3F8, 1, 8)
            .IrqNoFlags(4)
            .Memory32Fixed(readWrite: false, 0xFED00000, 0x400)
            .Build().Data.ToArray();

        // IO: 47 01 F8 03 F8 03 01 08; IRQNoFlags: 22 10 00; Memory32Fixed: 86 09 00 00 base length; end tag 79 00.
        Assert.Equal("4701F803F8030108" + "221000" + "86090000" + "0000D0FE" + "00040000" + "7900", Convert.ToHexString(data));
    }

    [Fact]
    public void Address_space_descriptors_have_their_spec_lengths()
    {
        byte[] data = new AmlResourceTemplate().WordBusNumber(0, 0xFF).DWordMemory(cacheable: false, 0x0800_0000, 0xFEBF_FFFF).Build().Data.ToArray();
        Assert.Equal(0x88, data[0]);
        Assert.Equal(13, data[1] | (data[2] << 8));
        Assert.Equal(2, data[3]); // bus number range
        Assert.Equal(0x100, data[14] | (data[15] << 8)); // length 100h
        int dword = 3 + 13;
        Assert.Equal(0x87, data[dword]);
        Assert.Equal(23, data[dword + 1] | (data[dword + 2] << 8));
        Assert.Equal(0xF6C0_0000u, BitConverter.ToUInt32(data, dword + 3 + 19)); // length = FEBFFFFF - 08000000 + 1
    }

    [Fact]
    public void Operations_check_their_operand_count()
    {
        Assert.Throws<ArgumentException>(() => new AmlOperation(AmlOpcode.Store, new AmlInteger(1)));
        Assert.Throws<ArgumentException>(() => new AmlOperation(AmlOpcode.CreateDWordField, new AmlLocal(0), new AmlInteger(0), new AmlInteger(1)));
    }

    [Theory]
    [InlineData(21)]
    [InlineData(72)]
    public void Fixed_seed_round_trips(int seed) => Random_trees_round_trip_through_the_decoder(seed);

    [Property(MaxTest = 300)]
    public bool Random_trees_round_trip_through_the_decoder(int seed)
    {
        List<AmlNode> tree = new RandomAmlTrees(seed).Declarations(depth: 3);
        byte[] aml = AmlEncoder.Encode(tree);
        IReadOnlyList<AmlNode> decoded = AmlDecoder.Decode(aml);
        Assert.Equal(AmlTreeText.Of(tree), AmlTreeText.Of(decoded));
        Assert.Equal(aml, AmlEncoder.Encode(decoded));
        return true;
    }

    [Fact]
    public void The_dsdt_round_trips_through_the_decoder()
    {
        IReadOnlyList<AmlNode> tree = AcpiDsdtBuilder.BuildBody(new AcpiPlatformDescription { CpuCount = 2 });
        IReadOnlyList<AmlNode> decoded = AmlDecoder.Decode(AmlEncoder.Encode(tree));
        string text = AmlTreeText.Of(decoded);
        Assert.Equal(AmlTreeText.Of(tree), text);
        Assert.Contains("Device(PCI0)", text, StringComparison.Ordinal);
        Assert.Contains("Call(IQST){Ref(\\_SB_.PCI0.ISA_.PRQ0);}", text, StringComparison.Ordinal);
        Assert.Contains("Name(\\_S5_,Pkg{Int(0);Int(0);Int(0);Int(0);}", text, StringComparison.Ordinal);
    }
}
