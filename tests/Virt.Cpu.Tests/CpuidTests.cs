using System.Text;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>CPUID from a configurable <see cref="CpuidModel"/> (Intel SDM Vol. 2A, CPUID).</summary>
public sealed class CpuidTests
{
    private const ushort Results = 0x4000;

    private static readonly uint[] Leaves = [0, 1, 2, 3, 0x4000_0000, 0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0003, 0x8000_0004, 0x8000_0005];

    /// <summary>Runs CPUID for every leaf of <see cref="Leaves"/> and returns EAX, EBX, ECX, EDX of each.</summary>
    private static uint[][] ReadLeaves(CpuidModel model)
    {
        var m = new CpuHarness(new CpuOptions { Cpuid = model });
        m.Run(a =>
        {
            a.mov(di, Results);
            foreach (uint leaf in Leaves)
            {
                a.mov(eax, leaf);
                a.mov(ecx, 0x5555_5555); // leaves with nothing to say must still overwrite ECX
                a.cpuid();
                a.mov(__dword_ptr[di], eax);
                a.mov(__dword_ptr[di + 4], ebx);
                a.mov(__dword_ptr[di + 8], ecx);
                a.mov(__dword_ptr[di + 12], edx);
                a.add(di, 16);
            }

            a.hlt();
        });
        Assert.True(m.Cpu.IsHalted);
        var result = new uint[Leaves.Length][];
        for (int i = 0; i < Leaves.Length; i++)
        {
            result[i] = new uint[4];
            for (int r = 0; r < 4; r++)
            {
                result[i][r] = m.Memory.ReadDoubleWord(new PhysicalAddress(Results + (uint)((i * 16) + (r * 4))));
            }
        }

        return result;
    }

    private static uint Chars(string text, int offset)
    {
        byte[] bytes = new byte[52];
        Encoding.ASCII.GetBytes(text).CopyTo(bytes, 0);
        return BitConverter.ToUInt32(bytes, offset);
    }

    /// <summary>The leaves of a model whose maximum leaves are 2 and 80000004h (the 32-bit models).</summary>
    private static void AssertLeaves(CpuidModel model, uint expectedSignature)
    {
        uint[][] r = ReadLeaves(model);
        uint[] leaf2 = [1, 0, 0, 0]; // one iteration, all null descriptors

        // With XSAVE the highest basic leaf is 0Dh (whose sub-leaf 55555555h is all zeros), else 2; leaf 3 is zeros below it.
        bool xsave = (model.FeaturesEcx & CpuidModel.XsaveFeatureEcx) != 0;
        uint[] highest = xsave ? [0, 0, 0, 0] : leaf2;
        Assert.Equal(xsave ? 0xDu : 2u, model.MaxBasicLeaf);
        Assert.Equal([xsave ? 0xDu : 2u, Chars(model.Vendor, 0), Chars(model.Vendor, 8), Chars(model.Vendor, 4)], r[0]); // EBX, EDX, ECX order of the string
        Assert.Equal([expectedSignature, 0, model.FeaturesEcx, model.FeaturesEdx], r[1]);
        Assert.Equal(leaf2, r[2]);
        Assert.Equal(highest, r[3]); // zeros below the maximum, or above it: the highest basic leaf's data
        Assert.Equal(highest, r[4]);
        Assert.Equal([0x8000_0004, 0, 0, 0], r[5]);
        Assert.Equal([0, 0, model.ExtendedFeaturesEcx, model.ExtendedFeaturesEdx], r[6]);
        for (int i = 0; i < 3; i++)
        {
            for (int reg = 0; reg < 4; reg++)
            {
                Assert.Equal(Chars(model.Brand, (i * 16) + (reg * 4)), r[7 + i][reg]);
            }
        }

        Assert.Equal(highest, r[10]); // above the maximum extended leaf
    }

    [Fact]
    public void P6_model_leaves()
    {
        CpuidModel model = CpuidModel.P6;
        AssertLeaves(model, 0x0619); // family 6, model 1, stepping 9

        // FPU, VME, DE, PSE, TSC, MSR, PAE, CX8, SEP, PGE, CMOV, FXSR; NX in 80000001h; no long mode, no SSE3 or later.
        Assert.Equal(0x0100_A97Fu, model.FeaturesEdx);
        Assert.Equal(0u, model.FeaturesEcx);
        Assert.Equal(1u << 20, model.ExtendedFeaturesEdx);
        Assert.False(model.HasLongMode);

        // Not advertised: MCE (7), APIC (9), MTRR (12), MCA (14), PAT (16), PSE-36 (17), CLFSH (19), MMX (23), SSE (25),
        // SSE2 (26), HTT (28).
        foreach (int bit in new[] { 7, 9, 12, 14, 16, 17, 19, 23, 25, 26, 28 })
        {
            Assert.Equal(0u, model.FeaturesEdx & (1u << bit));
        }
    }

    [Fact]
    public void Default_model_is_x86_64()
    {
        CpuidModel model = CpuidModel.Default;
        uint[][] r = ReadLeaves(model);

        // Leaf 0: maximum basic leaf 0Dh (XSAVE). Leaf 1: family 6, model 15 (extended model 0), stepping 11.
        Assert.Equal(0xDu, r[0][0]);
        Assert.Equal(0x06FBu, r[1][0]);

        // x86-64 requires FXSR, MMX, SSE and SSE2 on top of the P6 set (CMOV, CX8, PAE, MSR, TSC, FPU, ...); ECX: SSE3 (0),
        // SSSE3 (9), CMPXCHG16B (13), SSE4.1 (19), SSE4.2 (20), POPCNT (23), XSAVE (26).
        Assert.Equal(CpuidModel.P6FeaturesEdx | (1u << 23) | (1u << 25) | (1u << 26), r[1][3]);
        Assert.Equal((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 26), r[1][2]);

        // Leaf 3 (no serial number): all zero, and ECX overwritten.
        Assert.Equal([0u, 0, 0, 0], r[2 + 1]);

        // 40000000h is above the maximum basic leaf: the data of leaf 0Dh for sub-leaf 55555555h (all zero).
        Assert.Equal([0u, 0, 0, 0], r[4]);

        // 80000000h: maximum extended leaf 80000008h. 80000001h: LAHF (ECX 0); SYSCALL (11), NX (20), Page1GB (26),
        // RDTSCP (27), LM (29).
        Assert.Equal(0x8000_0008u, r[5][0]);
        Assert.Equal([0u, 0, 1, (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29)], r[6]);
        Assert.True(model.HasLongMode);

        // 80000005h: reserved on Intel, all zero.
        Assert.Equal([0u, 0, 0, 0], r[10]);
    }

    [Fact]
    public void Leaf_80000008_reports_40_physical_and_48_linear_address_bits()
    {
        var m = new CpuHarness();
        m.Run(a =>
        {
            a.mov(eax, 0x8000_0008);
            a.cpuid();
            a.hlt();
        });
        Assert.Equal(40UL | (48UL << 8), m.Cpu.GetRegister(GeneralRegister.Rax));
    }

    [Fact]
    public void Custom_model_leaves()
    {
        var model = new CpuidModel
        {
            Vendor = "AuthenticAMD",
            Family = 15 + 0x10, // extended family 10h
            Model = 0x42, // extended model 4
            Stepping = 3,
            Brand = "A custom brand string that is exactly 48 chars!!",
            FeaturesEdx = 0x11,
            FeaturesEcx = 0x8000_0001,
            ExtendedFeaturesEdx = 0x0010_0800,
            ExtendedFeaturesEcx = 1,
            MaxBasicLeaf = 2,
            MaxExtendedLeaf = 0x8000_0004,
        };
        Assert.Equal(48, model.Brand.Length);
        AssertLeaves(model, 3u | (2u << 4) | (15u << 8) | (4u << 16) | (0x10u << 20));
    }

    [Fact]
    public void Reset_puts_the_models_signature_in_edx()
    {
        var m = new CpuHarness(new CpuOptions { Cpuid = CpuidModel.Default with { Family = 5, Model = 2, Stepping = 12 } });
        Assert.Equal(0x052CUL, m.Cpu.GetRegister(GeneralRegister.Rdx));
        m.Cpu.SetRegister(GeneralRegister.Rdx, 0);
        m.Cpu.Reset();
        Assert.Equal(0x052CUL, m.Cpu.GetRegister(GeneralRegister.Rdx));
    }

    [Fact]
    public void Vendor_string_option_still_sets_the_vendor()
    {
        var options = new CpuOptions { VendorString = "VirtVirtVirt" };
        Assert.Equal("VirtVirtVirt", options.Cpuid.Vendor);
        Assert.Equal(CpuidModel.Default.Brand, options.Cpuid.Brand);
    }

    [Theory]
    [InlineData("Vendor")]
    [InlineData("Brand")]
    [InlineData("Family")]
    [InlineData("Model")]
    [InlineData("Stepping")]
    [InlineData("PhysicalAddressBits")]
    public void Invalid_models_are_rejected_naming_the_field(string field)
    {
        CpuidModel model = field switch
        {
            "Vendor" => CpuidModel.Default with { Vendor = "ShortVendor" },
            "Brand" => CpuidModel.Default with { Brand = new string('x', 49) },
            "Family" => CpuidModel.Default with { Family = 271 },
            "Model" => CpuidModel.Default with { Family = 5, Model = 16 },
            "PhysicalAddressBits" => CpuidModel.Default with { PhysicalAddressBits = 53 },
            _ => CpuidModel.Default with { Stepping = 16 },
        };
        ArgumentException e = Assert.Throws<ArgumentException>(() => new CpuHarness(new CpuOptions { Cpuid = model }));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Non_ascii_vendor_is_rejected()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => new CpuHarness(new CpuOptions { VendorString = "GenuineIntel".Replace('e', 'é') }));
        Assert.Equal("Vendor", e.ParamName);
    }

    [Theory]
    [InlineData(2, 3, true)] // DE
    [InlineData(3, 4, true)] // PSE
    [InlineData(13, 7, true)] // PGE
    [InlineData(24, 9, true)] // OSFXSR
    [InlineData(25, 10, true)] // OSXMMEXCPT: SSE
    [InlineData(25, 10, false)]
    [InlineData(2, 3, false)]
    [InlineData(3, 4, false)]
    [InlineData(13, 7, false)]
    [InlineData(24, 9, false)]
    public void Cr4_bits_are_writable_only_when_their_feature_is_advertised(int edxBit, int cr4Bit, bool advertised)
    {
        uint features = advertised ? CpuidModel.DefaultFeaturesEdx : CpuidModel.DefaultFeaturesEdx & ~(1u << edxBit);
        var m = new CpuHarness(new CpuOptions { Cpuid = CpuidModel.Default with { FeaturesEdx = features } });
        m.InstallHaltHandler(13);
        m.Run(a =>
        {
            a.mov(eax, 1 << cr4Bit);
            a.mov(cr4, eax);
            a.hlt();
        });
        Assert.Equal(advertised ? -1 : 13, m.Cpu.LastExceptionVector);
        Assert.Equal(advertised ? 1UL << cr4Bit : 0, m.Cpu.Cr4);
    }
}
