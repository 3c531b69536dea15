namespace Virt.Fuzz.Tests;

public sealed class CodeGeneratorTests
{
    public static TheoryData<FuzzMode> Modes() => [.. Enum.GetValues<FuzzMode>()];

    [Theory]
    [MemberData(nameof(Modes))]
    public void Decodable_code_decodes_at_the_mode_bitness_to_its_last_byte(FuzzMode mode)
    {
        int bitness = CodeGenerator.BitnessOf(mode);
        for (ulong seed = 1; seed <= 40; seed++)
        {
            byte[] code = CodeGenerator.Generate(seed, mode, FuzzGenerator.DecodableInstructions);

            Assert.InRange(code.Length, GuestLayout.MaxCodeSizeInBytes - 32, GuestLayout.MaxCodeSizeInBytes);
            Assert.Equal(-1, CodeGenerator.FirstUndecodableOffset(code, bitness));
        }
    }

    [Fact]
    public void Random_bytes_fill_the_code_area_and_are_not_all_decodable()
    {
        byte[] code = CodeGenerator.Generate(3, FuzzMode.Protected32, FuzzGenerator.RandomBytes);

        Assert.Equal(GuestLayout.MaxCodeSizeInBytes, code.Length);
        Assert.True(code.Distinct().Count() > 200); // about every byte value appears in 4 KiB of random bytes
    }

    [Fact]
    public void A_seed_gives_the_same_code_every_time_and_another_seed_other_code()
    {
        byte[] first = CodeGenerator.Generate(42, FuzzMode.Ring3, FuzzGenerator.DecodableInstructions);
        byte[] again = CodeGenerator.Generate(42, FuzzMode.Ring3, FuzzGenerator.DecodableInstructions);
        byte[] other = CodeGenerator.Generate(43, FuzzMode.Ring3, FuzzGenerator.DecodableInstructions);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Theory]
    [InlineData(FuzzMode.RealMode, 16)]
    [InlineData(FuzzMode.Virtual8086, 16)]
    [InlineData(FuzzMode.Protected16Paging, 16)]
    [InlineData(FuzzMode.Pae, 32)]
    [InlineData(FuzzMode.Ring3, 32)]
    public void The_system_templates_are_in_the_decodable_stream(FuzzMode mode, int bitness)
    {
        // Over a few guests the stream carries the instruction families random bytes rarely produce.
        var mnemonics = new HashSet<Iced.Intel.Mnemonic>();
        for (ulong seed = 1; seed <= 20; seed++)
        {
            byte[] code = CodeGenerator.Generate(seed, mode, FuzzGenerator.DecodableInstructions);
            var decoder = Iced.Intel.Decoder.Create(bitness, new Iced.Intel.ByteArrayCodeReader(code));
            foreach (Iced.Intel.Instruction instruction in decoder)
            {
                mnemonics.Add(instruction.Mnemonic);
            }
        }

        string[][] families =
        [
            ["Jmp"], ["Call"], ["Int"], ["Iret", "Iretd"], ["Lgdt"], ["Lidt"], ["Ltr"], ["Lldt"], ["Out"], ["In"],
            ["Movsb", "Movsw", "Movsd"], ["Stosb", "Stosw", "Stosd"], ["Insb", "Insw", "Insd", "Outsb", "Outsw", "Outsd"],
            ["Fninit"], ["Fldz", "Fld1", "Fldpi", "Fldl2e", "Fldl2t", "Fldlg2", "Fldln2"], ["Wrmsr", "Rdmsr"], ["Popf", "Popfd"],
            ["Lds", "Les", "Lss", "Lfs", "Lgs"], ["Clts", "Lmsw", "Invlpg"],
        ];
        foreach (string[] family in families)
        {
            Assert.True(family.Any(name => mnemonics.Contains(Enum.Parse<Iced.Intel.Mnemonic>(name))), $"none of {string.Join(", ", family)}");
        }

        Assert.True(mnemonics.Contains(Iced.Intel.Mnemonic.Mov), "MOV CRn and segment loads");
    }
}
