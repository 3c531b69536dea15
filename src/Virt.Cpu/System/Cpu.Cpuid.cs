namespace Virt.Cpu;

/// <summary>CPUID from the configured <see cref="CpuidModel"/> (Intel SDM Vol. 2A, CPUID).</summary>
public sealed partial class Cpu
{
    /// <summary>Leaf 80000008h EAX: the physical-address width in bits 7:0, the linear-address width in bits 15:8.</summary>
    private const int LinearWidthShift = 8;

    /// <summary>CPUID.1:ECX bit 27, OSXSAVE: a copy of CR4.OSXSAVE (Intel SDM Vol. 2A, CPUID, Table 3-10).</summary>
    private const uint CpuidOsxsaveEcx = 1u << 27;

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

            // CR4.FSGSBASE belongs to CPUID.(EAX=07h,ECX=0):EBX.FSGSBASE (Intel SDM Vol. 3A, 2.5).
            if (!Model.Advertises(CpuidModel.FsgsbaseFeatureEbx))
            {
                writable &= ~Cr4Bits.Fsgsbase;
            }

            // CR4.OSXSAVE belongs to CPUID.1:ECX.XSAVE.
            if ((Model.FeaturesEcx & CpuidModel.XsaveFeatureEcx) == 0)
            {
                writable &= ~Cr4Bits.Osxsave;
            }

            return writable;
        }
    }

    private void ExecuteCpuid()
    {
        uint leaf = (uint)_ctx.Gpr[RegAx];
        uint requestedLeaf = leaf;
        CpuidModel model = Model;
        uint maxBasicLeaf = model.MaxBasicLeaf;
        uint maxExtendedLeaf = model.MaxExtendedLeaf;
        if (leaf > maxBasicLeaf && (leaf < 0x8000_0000 || leaf > maxExtendedLeaf))
        {
            // Intel: a leaf above the maximum basic or extended leaf returns the data of the highest basic leaf (Intel SDM
            // Vol. 2A, CPUID, "If a value entered for CPUID.EAX is higher than the maximum input value").
            leaf = maxBasicLeaf;
        }

        uint a;
        uint b = 0;
        uint c = 0;
        uint d = 0;
        switch (leaf)
        {
            case 0:
                a = maxBasicLeaf;
                b = CpuidModel.Word(model.Vendor, 0);
                d = CpuidModel.Word(model.Vendor, 4);
                c = CpuidModel.Word(model.Vendor, 8);
                break;
            case 1:
                // EBX: brand index 0, CLFLUSH line size 0 (no CLFSH), one logical processor, initial APIC ID 0.
                a = model.Signature;
                c = model.FeaturesEcx & ~CpuidOsxsaveEcx;
                if ((c & CpuidModel.XsaveFeatureEcx) != 0 && (_ctx.Cr4 & Cr4Bits.Osxsave) != 0)
                {
                    c |= CpuidOsxsaveEcx;
                }

                d = model.FeaturesEdx;
                break;
            case 2:
                // AL = 1: execute CPUID 2 once; every other descriptor byte 00h, "null descriptor": no cache information.
                a = 1;
                break;
            case 3:
            case 4:
            case 5:
            case 6:
                // No processor serial number, no deterministic cache parameters (EAX[4:0] = 0: no more caches), no
                // MONITOR/MWAIT, no thermal and power management: all zero.
                a = 0;
                break;
            case 7:
                // Structured extended features, sub-leaf 0: EAX = 0 (no further sub-leaves), EBX from the model (INVPCID when
                // and FSGSBASE when advertised; SMEP, BMI ... are not implemented). Other sub-leaves are all zero.
                a = 0;
                b = (uint)_ctx.Gpr[RegCx] == 0 ? model.StructuredExtendedFeaturesEbx : 0;
                break;
            case >= 8 and < CpuidModel.XsaveLeaf:
                // No architectural performance monitoring or topology leaves: all zero.
                a = 0;
                break;
            case CpuidModel.XsaveLeaf:
                if ((model.FeaturesEcx & CpuidModel.XsaveFeatureEcx) != 0)
                {
                    CpuidXsaveLeaf((uint)_ctx.Gpr[RegCx], out a, out b, out c, out d);
                }
                else
                {
                    a = 0;
                }

                break;
            case 0x8000_0000:
                a = maxExtendedLeaf;
                break;
            case 0x8000_0001:
                a = 0;
                c = model.ExtendedFeaturesEcx;
                d = model.ExtendedFeaturesEdx;
                break;
            case 0x8000_0005:
            case 0x8000_0006:
            case 0x8000_0007:
                // Reserved on Intel (80000005h), cache information not reported (80000006h), no invariant TSC (80000007h).
                a = 0;
                break;
            case 0x8000_0008:
                // Address widths (Intel SDM Vol. 2A, CPUID, leaf 80000008h): physical in bits 7:0, linear in bits 15:8.
                a = (uint)model.PhysicalAddressBits | (LinearAddressBits << LinearWidthShift);
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

    /// <summary>
    /// CPUID leaf 0Dh (Intel SDM Vol. 1, 13.2): sub-leaf 0 gives the supported XCR0 bits (x87 and SSE) and the area sizes
    /// (576 bytes: legacy region and header), sub-leaf 1 reports none of XSAVEOPT, XSAVEC, XGETBV with ECX = 1 or XSAVES,
    /// and the other sub-leaves are zero (no component beyond SSE).
    /// </summary>
    private void CpuidXsaveLeaf(uint subLeaf, out uint a, out uint b, out uint c, out uint d)
    {
        a = 0;
        b = 0;
        c = 0;
        d = 0;
        if (subLeaf == 0)
        {
            a = (uint)Xcr0Supported;
            b = XsaveAreaSizeInBytes;
            c = XsaveAreaSizeInBytes;
        }
    }
}
