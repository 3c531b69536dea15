namespace Virt.Cpu;

/// <summary>CPUID from the configured <see cref="CpuidModel"/> (Intel SDM Vol. 2A, CPUID).</summary>
public sealed partial class Cpu
{
    private const uint CpuidMaxBasicLeaf = 2;
    private const uint CpuidMaxExtendedLeaf = 0x8000_0004;

    // CR4 bits and the CPUID.1:EDX feature each belongs to (Intel SDM Vol. 3A, 2.5): a CR4 bit is writable only when the
    // CPU implements it (Cr4Supported) and the model advertises its feature.
    private static readonly (ulong Cr4Bit, int EdxBit)[] Cr4Features =
    [
        (1UL << 0, 1), // VME: VME
        (1UL << 1, 1), // PVI: VME
        (1UL << 2, 4), // TSD: TSC
        (1UL << 3, 2), // DE: DE
        (1UL << 4, 3), // PSE: PSE
        (1UL << 5, 6), // PAE: PAE
        (1UL << 6, 7), // MCE: MCE
        (1UL << 7, 13), // PGE: PGE
        (1UL << 9, 24), // OSFXSR: FXSR
        (1UL << 10, 25), // OSXMMEXCPT: SSE
    ];

    private CpuidModel Model => _options.Cpuid;

    /// <summary>The CPUID signature, which EDX holds after reset (Intel SDM Vol. 3A, 10.1.2).</summary>
    private uint CpuidSignature => Model.Signature;

    /// <summary>The CR4 bits MOV to CR4 may set: implemented and advertised by the model.</summary>
    private ulong Cr4Writable
    {
        get
        {
            ulong writable = Cr4Supported;
            uint edx = Model.FeaturesEdx;
            foreach ((ulong bit, int edxBit) in Cr4Features)
            {
                if ((edx & (1u << edxBit)) == 0)
                {
                    writable &= ~bit;
                }
            }

            // PCIDE belongs to CPUID.1:ECX.PCID (bit 17).
            if ((Model.FeaturesEcx & CpuidModel.PcidFeatureEcx) == 0)
            {
                writable &= ~Cr4Bits.Pcide;
            }

            return writable;
        }
    }

    private void ExecuteCpuid()
    {
        uint leaf = (uint)_ctx.Gpr[RegAx];
        uint requestedLeaf = leaf;
        CpuidModel model = Model;
        if (leaf > CpuidMaxBasicLeaf && (leaf < 0x8000_0000 || leaf > CpuidMaxExtendedLeaf))
        {
            // Intel: a leaf above the maximum basic or extended leaf returns the data of the highest basic leaf (Intel SDM
            // Vol. 2A, CPUID, "If a value entered for CPUID.EAX is higher than the maximum input value").
            leaf = CpuidMaxBasicLeaf;
        }

        uint a;
        uint b = 0;
        uint c = 0;
        uint d = 0;
        switch (leaf)
        {
            case 0:
                a = CpuidMaxBasicLeaf;
                b = CpuidModel.Word(model.Vendor, 0);
                d = CpuidModel.Word(model.Vendor, 4);
                c = CpuidModel.Word(model.Vendor, 8);
                break;
            case 1:
                // EBX: brand index 0, CLFLUSH line size 0 (no CLFSH), one logical processor, initial APIC ID 0.
                a = model.Signature;
                c = model.FeaturesEcx;
                d = model.FeaturesEdx;
                break;
            case 2:
                // AL = 1: execute CPUID 2 once; every other descriptor byte 00h, "null descriptor": no cache information.
                a = 1;
                break;
            case 0x8000_0000:
                a = CpuidMaxExtendedLeaf;
                break;
            case 0x8000_0001:
                a = 0;
                c = model.ExtendedFeaturesEcx;
                d = model.ExtendedFeaturesEdx;
                break;
            default:
                // 80000002h-80000004h: 16 characters of the brand string each, in EAX, EBX, ECX, EDX order.
                int offset = (int)(leaf - 0x8000_0002) * 16;
                a = CpuidModel.Word(model.Brand, offset);
                b = CpuidModel.Word(model.Brand, offset + 4);
                c = CpuidModel.Word(model.Brand, offset + 8);
                d = CpuidModel.Word(model.Brand, offset + 12);
                break;
        }

        CpuidHook?.Invoke(requestedLeaf, (uint)_ctx.Gpr[RegCx], ref a, ref b, ref c, ref d);
        WriteRegister(RegAx, 4, a);
        WriteRegister(RegBx, 4, b);
        WriteRegister(RegCx, 4, c);
        WriteRegister(RegDx, 4, d);
    }
}
